/**
 * The test model's random weights (see test-model.ts): a fixed-seed PRNG, tensors scaled so that
 * the residual stream and logits stay O(1)-O(few), and muted tokens given a large negative logit.
 */
import type { GgufTensor } from "./gguf-writer.ts";
import type { ModelVocabulary, ResolvedOptions } from "./test-model.ts";

/** Deterministic PRNG (splitmix-style counter + murmur3 finaliser), uniform in [0, 1). */
function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

function nameSeed(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const byte of Buffer.from(name, "utf8")) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 0;
}

/** Uniform values with the given standard deviation. */
function randomValues(name: string, count: number, std: number, seed: number): Float32Array {
  const random = makeRandom(nameSeed(name, seed));
  const half = std * Math.sqrt(3);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * half;
  return out;
}

/** Value of the constant residual channel 0 in every token embedding. */
const BIAS_CHANNEL = 4;
/** Output weight on channel 0 for muted tokens (normalised channel 0 is ~2, so logits ~ -20). */
const MUTED_LOGIT_WEIGHT = -10;

/**
 * `vocab.mutedTokens` get a large negative logit so that the model (practically) never generates
 * them, even when sampling: BOS, PAD (or SentencePiece's <unk>) and <|im_start|>. (Byte tokens that
 * are not complete UTF-8 on their own are deliberately left alone: servers must cope with
 * characters split over tokens.)
 */
export function buildTensors(o: ResolvedOptions, vocab: ModelVocabulary): GgufTensor[] {
  const nEmbd = o.embeddingLength;
  const headDim = nEmbd / o.headCount;
  const nKv = headDim * o.headCountKv;
  const nVocab = vocab.tokens.length;
  const inv = (n: number): number => 1 / Math.sqrt(n);
  const matrix = (name: string, dims: [number, number], std: number): GgufTensor => ({
    name,
    dims,
    type: o.matrixType,
    data: () => randomValues(name, dims[0] * dims[1], std, o.seed),
  });
  const ones = (name: string): GgufTensor => ({ name, dims: [nEmbd], type: "F32", data: () => new Float32Array(nEmbd).fill(1) });

  // Channel 0 of the residual stream is a constant "bias" channel: every token embedding
  // sets it to BIAS_CHANNEL and no layer writes to it (row 0 of attn_output / ffn_down is
  // zero), so after the final RMS norm it is a positive constant-ish input to the output
  // layer, which uses it to give muted tokens a large negative logit.
  const embeddings = (name: string): GgufTensor => ({
    name,
    dims: [nEmbd, nVocab],
    type: o.matrixType,
    data: () => {
      const values = randomValues(name, nEmbd * nVocab, 1, o.seed);
      for (let t = 0; t < nVocab; t++) values[t * nEmbd] = BIAS_CHANNEL;
      return values;
    },
  });
  const noBiasWrite = (tensor: GgufTensor): GgufTensor => ({
    ...tensor,
    data: () => {
      const values = typeof tensor.data === "function" ? tensor.data() : tensor.data;
      return values.fill(0, 0, tensor.dims[0]); // output row 0 = channel 0
    },
  });
  const tensors: GgufTensor[] = [embeddings("token_embd.weight")];
  for (let b = 0; b < o.blockCount; b++) {
    const p = `blk.${b}.`;
    tensors.push(
      ones(`${p}attn_norm.weight`),
      matrix(`${p}attn_q.weight`, [nEmbd, nEmbd], 2 * inv(nEmbd)),
      matrix(`${p}attn_k.weight`, [nEmbd, nKv], 2 * inv(nEmbd)),
      matrix(`${p}attn_v.weight`, [nEmbd, nKv], inv(nEmbd)),
      noBiasWrite(matrix(`${p}attn_output.weight`, [nEmbd, nEmbd], 2 * inv(nEmbd))),
      ones(`${p}ffn_norm.weight`),
      matrix(`${p}ffn_gate.weight`, [nEmbd, o.feedForwardLength], inv(nEmbd)),
      matrix(`${p}ffn_up.weight`, [nEmbd, o.feedForwardLength], inv(nEmbd)),
      noBiasWrite(matrix(`${p}ffn_down.weight`, [o.feedForwardLength, nEmbd], inv(o.feedForwardLength))),
    );
  }
  tensors.push(ones("output_norm.weight"), {
    name: "output.weight",
    dims: [nEmbd, nVocab],
    type: o.matrixType,
    data: () => {
      // logits std ~2.5 for a unit-RMS hidden state; muted tokens only read the bias channel
      const values = randomValues("output.weight", nEmbd * nVocab, 2.5 * inv(nEmbd), o.seed);
      for (const id of vocab.mutedTokens) {
        values.fill(0, id * nEmbd, (id + 1) * nEmbd);
        values[id * nEmbd] = MUTED_LOGIT_WEIGHT;
      }
      return values;
    },
  });
  return tensors;
}
