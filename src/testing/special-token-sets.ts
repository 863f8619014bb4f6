/**
 * The special tokens of the test models, per set: ids, texts and GGUF token types (3 = control,
 * 4 = user defined). Every set has 9 tokens, so byte and merged tokens keep their ids across sets.
 */

/** Special tokens of the BPE test model: ids, texts and GGUF token types (3 = control, 4 = user defined). */
export const TEST_MODEL_SPECIAL_TOKENS = {
  bos: { id: 0, text: "<|startoftext|>", type: 3 },
  eos: { id: 1, text: "<|endoftext|>", type: 3 },
  imStart: { id: 2, text: "<|im_start|>", type: 3 },
  imEnd: { id: 3, text: "<|im_end|>", type: 3 },
  pad: { id: 4, text: "<|pad|>", type: 3 },
  toolCallStart: { id: 5, text: "<tool_call>", type: 4 },
  toolCallEnd: { id: 6, text: "</tool_call>", type: 4 },
  toolResponseStart: { id: 7, text: "<tool_response>", type: 4 },
  toolResponseEnd: { id: 8, text: "</tool_response>", type: 4 },
} as const;

/**
 * Special tokens of the `specialTokenSet: "llama3"` test model: Llama 3's BOS/EOS, turn headers,
 * end of turn (`<|eot_id|>`, `tokenizer.ggml.eot_token_id`), end of message (`<|eom_id|>`) and
 * `<|python_tag|>`, plus a padding and a reserved token (Llama 3 has both) to fill the 9 slots.
 */
export const TEST_MODEL_LLAMA3_SPECIAL_TOKENS = {
  bos: { id: 0, text: "<|begin_of_text|>", type: 3 },
  eos: { id: 1, text: "<|end_of_text|>", type: 3 },
  startHeader: { id: 2, text: "<|start_header_id|>", type: 3 },
  endHeader: { id: 3, text: "<|end_header_id|>", type: 3 },
  eot: { id: 4, text: "<|eot_id|>", type: 3 },
  eom: { id: 5, text: "<|eom_id|>", type: 3 },
  pythonTag: { id: 6, text: "<|python_tag|>", type: 3 },
  pad: { id: 7, text: "<|finetune_right_pad_id|>", type: 3 },
  reserved: { id: 8, text: "<|reserved_special_token_0|>", type: 3 },
} as const;

/**
 * Special tokens of the `specialTokenSet: "mistral"` test model (Mistral's v3 tool markers): `</s>`
 * is both EOS and the end of an assistant turn (`tokenizer.ggml.eot_token_id` names it too).
 */
export const TEST_MODEL_MISTRAL_SPECIAL_TOKENS = {
  bos: { id: 0, text: "<s>", type: 3 },
  eos: { id: 1, text: "</s>", type: 3 },
  inst: { id: 2, text: "[INST]", type: 3 },
  instEnd: { id: 3, text: "[/INST]", type: 3 },
  toolCalls: { id: 4, text: "[TOOL_CALLS]", type: 3 },
  availableTools: { id: 5, text: "[AVAILABLE_TOOLS]", type: 3 },
  availableToolsEnd: { id: 6, text: "[/AVAILABLE_TOOLS]", type: 3 },
  toolResults: { id: 7, text: "[TOOL_RESULTS]", type: 3 },
  toolResultsEnd: { id: 8, text: "[/TOOL_RESULTS]", type: 3 },
} as const;

/** Special tokens of the SentencePiece (`tokenizer: "spm"`) test model. */
export const TEST_MODEL_SPM_SPECIAL_TOKENS = {
  unk: { id: 0, text: "<unk>", type: 2 },
  bos: { id: 1, text: "<s>", type: 3 },
  eos: { id: 2, text: "</s>", type: 3 },
  imStart: { id: 3, text: "<|im_start|>", type: 3 },
  imEnd: { id: 4, text: "<|im_end|>", type: 3 },
  toolCallStart: { id: 5, text: "<tool_call>", type: 4 },
  toolCallEnd: { id: 6, text: "</tool_call>", type: 4 },
  toolResponseStart: { id: 7, text: "<tool_response>", type: 4 },
  toolResponseEnd: { id: 8, text: "</tool_response>", type: 4 },
} as const;
