package io.somastack.models;

/**
 * Tokens one model call consumed, as the ledger bills them.
 *
 * @param inputTokens prompt tokens
 * @param outputTokens generated tokens (for an interrupted stream: only those generated)
 * @param estimated false when the provider reported the numbers or the local model's own
 *     tokenizer counted them; true when SomaStack estimated them with a stand-in tokenizer
 */
public record Usage(int inputTokens, int outputTokens, boolean estimated) {

    public Usage {
        if (inputTokens < 0 || outputTokens < 0) {
            throw new IllegalArgumentException("token counts must not be negative");
        }
    }

    public int totalTokens() {
        return inputTokens + outputTokens;
    }
}
