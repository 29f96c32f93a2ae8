package io.somastack.models.internal;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import io.somastack.kernel.Json;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ToolCall;

/**
 * Estimates tokens for remote providers with jtokkit's {@code o200k_base} (the tokenizer of
 * current OpenAI models; for Anthropic, whose tokenizer is not public, an approximation).
 * The prompt count follows OpenAI's published accounting: a few tokens of framing per
 * message plus its text, plus the tool definitions and the response schema. Thread-safe.
 */
public final class TokenEstimator {
    private static final int PER_MESSAGE = 4;
    private static final int REPLY_PRIMING = 3;

    private final Encoding encoding;

    public TokenEstimator() {
        this.encoding = Vocabulary.O200K;
    }

    /** The vocabulary is immutable and takes a moment to load: once per process, on first use. */
    private static final class Vocabulary {
        static final Encoding O200K = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);
    }

    public int count(String text) {
        return text == null || text.isEmpty() ? 0 : encoding.countTokensOrdinary(text);
    }

    public int countPrompt(ChatRequest request) {
        int tokens = REPLY_PRIMING;
        for (ChatMessage message : request.messages()) {
            tokens += PER_MESSAGE + count(message.role()) + count(message.text());
            if (message.name() != null) {
                tokens += 1 + count(message.name());
            }
            if (message.toolCalls() != null) {
                for (ToolCall call : message.toolCalls()) {
                    tokens += PER_MESSAGE + count(call.function().name()) + count(call.function().arguments());
                }
            }
        }
        if (request.tools() != null && !request.tools().isEmpty()) {
            tokens += count(Json.text(request.tools()));
        }
        if (request.responseFormat() != null && request.responseFormat().jsonSchema() != null) {
            tokens += count(Json.text(request.responseFormat().jsonSchema()));
        }
        return tokens;
    }
}
