import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import { FAILED_SAMPLE, guardDecoding, takeSamplingFailure } from "../../src/engines/llama/decode-guard.ts";

type Mapper = (batchLogitIndex: number, tokenIndex: number) => unknown;

/** node-llama-cpp's batch loop in miniature: decode, then map each item's logits; a rejected mapper leaves the item's promise pending. */
function fakeContext() {
  const context = {
    _decodeTokens(_item: { sequenceId: number }, mapper: Mapper): Promise<unknown[]> {
      return new Promise((resolve) => {
        const mapped = mapper(0, 0);
        if (mapped instanceof Promise)
          mapped.then(
            (value) => resolve([[0, value]]),
            () => undefined /* lost, as in 3.22.1 */,
          );
        else resolve([[0, mapped]]);
      });
    },
  };
  return context as unknown as LlamaContext & typeof context;
}

describe("decode guard", () => {
  it("turns a failing sampler into node-llama-cpp's 'no token' and keeps its error for the sequence", async () => {
    const context = fakeContext();
    guardDecoding(context);
    const sequence = { context, _sequenceId: 2 } as unknown as LlamaContextSequence;
    const failing = await context._decodeTokens({ sequenceId: 2 }, () => Promise.reject(new Error("Unexpected empty grammar stack")));
    assert.deepEqual(failing, [[0, FAILED_SAMPLE]]);
    const failure = takeSamplingFailure(sequence);
    assert.ok(failure !== undefined);
    assert.match(String((failure.error as Error).message), /empty grammar stack/);
    assert.equal(takeSamplingFailure(sequence), undefined, "taken once");
    // Throwing synchronously is contained too; good samples pass through untouched.
    assert.deepEqual(
      await context._decodeTokens({ sequenceId: 1 }, () => {
        throw new Error("boom");
      }),
      [[0, FAILED_SAMPLE]],
    );
    assert.deepEqual(await context._decodeTokens({ sequenceId: 1 }, () => Promise.resolve(17)), [[0, 17]]);
  });
});
