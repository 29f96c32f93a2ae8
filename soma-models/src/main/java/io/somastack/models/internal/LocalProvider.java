package io.somastack.models.internal;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.ModelProvider;
import io.somastack.models.ProviderConfig;
import io.somastack.models.StreamSink;
import io.somastack.models.ToolDefinition;
import io.somastack.models.Usage;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A GGUF model run in-process by llama.cpp (java-llama.cpp 4.2.0).
 *
 * <p>Threading: a {@link LlamaModel} must not run two generations at once, so inference is
 * serialized by a fair lock; a caller that waits longer than the configured timeout gets a
 * retryable {@code UPSTREAM_ERROR} (503) and the router may try the next target. Tokenizing
 * only reads the vocabulary and runs without the lock.
 *
 * <p>Usage is exact, counted by the model's own tokenizer: prompt tokens are
 * {@code encode(prompt)} plus the BOS token llama.cpp adds (see {@link GgufMetadata}); output
 * tokens are the tokens the engine emitted, one streamed result per token.
 *
 * <p>Prompt: with a chat template (the operator's {@code chat_template}, else the GGUF's
 * {@code tokenizer.chat_template}) the conversation is rendered by llama.cpp's Jinja engine
 * ({@code applyTemplate}, model loaded with {@code --jinja}); without one, or with
 * {@code chat_template: none}, as plain lines (see {@link LocalPrompt}).
 *
 * <p>Repeatable output: without a {@code seed} the engine reuses the longest cached prefix of the
 * last prompt ({@code cache_prompt}), so a turn that extends a conversation evaluates only its new
 * tokens. llama.cpp does not promise bit-identical logits between a prompt evaluated whole and one
 * evaluated on top of a cache, so even greedy output ({@code temperature} 0) may then differ from
 * call to call. A request with a {@code seed} (OpenAI's way to ask for reproducible output) is
 * evaluated from an empty cache: the same prompt, seed and sampling give the same text whatever
 * ran before.
 *
 * <p>Logging: llama.cpp's native log is switched off ({@code --log-disable}); it would print
 * plain text into the JSON log on standard output, and its Java log callback receives
 * nothing in this version. Load and generation failures still arrive as exceptions.
 *
 * <p>Lifecycle: java-llama.cpp starts a non-daemon native thread that {@link #close()} does not
 * end, so a process that loaded a model must finish with {@code System.exit}. Never call
 * {@code InferenceParameters.setNProbs}: it crashes this version.
 */
public final class LocalProvider implements ModelProvider {
    static final int DEFAULT_MAX_TOKENS = 256;

    private final String name;
    private final String modelId;
    private final int contextSize;
    private final Duration lockTimeout;
    private final boolean addsBos;
    private final boolean templated;
    private final LlamaModel model;
    private final Clock clock;
    private final ReentrantLock lock = new ReentrantLock(true);
    private volatile boolean closed;

    public LocalProvider(ProviderConfig config, Clock clock) {
        this.name = config.name();
        this.modelId = config.localModelId();
        this.contextSize = config.contextSize();
        this.lockTimeout = config.timeout();
        this.clock = clock;
        try {
            GgufMetadata metadata = GgufMetadata.read(config.modelPath());
            this.addsBos = metadata.addsBos();
            ModelParameters parameters = new ModelParameters()
                    .setModel(config.modelPath().toString())
                    .setCtxSize(config.contextSize())
                    .setThreads(config.threads())
                    .setThreadsBatch(config.threads())
                    .setParallel(1)
                    .disableLog();
            String override = config.chatTemplate();
            if (override != null && !override.equals(ProviderConfig.PLAIN_LINES)) {
                parameters.setChatTemplate(override);
            }
            this.templated = override == null ? metadata.chatTemplate().isPresent() : !override.equals(ProviderConfig.PLAIN_LINES);
            if (templated) {
                parameters.enableJinja();
            }
            this.model = new LlamaModel(parameters);
        } catch (IOException | RuntimeException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "Cannot load local model %s from %s: %s".formatted(name, config.modelPath(), e.getMessage()), Map.of(), e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "local";
    }

    @Override
    public ChatResult complete(ChatRequest request, String upstreamModel) {
        LocalGeneration generation = generation(request, null);
        return generation.result(name, modelId, clock.now().getEpochSecond());
    }

    @Override
    public ChatResult stream(ChatRequest request, String upstreamModel, StreamSink sink) {
        StreamEmitter emitter = new StreamEmitter(sink, request.includeUsage(), Ids.completionId(),
                clock.now().getEpochSecond(), modelId);
        LocalGeneration generation = generation(request, emitter);
        return generation.streamResult(name, modelId);
    }

    @Override
    public int countPromptTokens(ChatRequest request) {
        return countTokens(prompt(request, LocalGeneration.forcedTools(request)));
    }

    /** The prompt text the model evaluates: the chat template's rendering, or plain lines. */
    public String prompt(ChatRequest request) {
        return prompt(request, LocalGeneration.forcedTools(request));
    }

    private String prompt(ChatRequest request, List<ToolDefinition> tools) {
        if (!templated) {
            return LocalPrompt.render(request, tools);
        }
        requireOpen();
        try {
            return model.applyTemplate(LocalPrompt.templateInput(request, tools));
        } catch (RuntimeException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The chat template of model %s cannot render this conversation: %s"
                    .formatted(modelId, e.getMessage()), Map.of(), e);
        }
    }

    /** Tokens llama.cpp evaluates for {@code prompt}: its encoding plus BOS when the vocabulary adds one. */
    public int countTokens(String prompt) {
        requireOpen();
        return model.encode(prompt).length + (addsBos ? 1 : 0);
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                model.close();
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public OptionalInt contextSize() {
        return OptionalInt.of(contextSize);
    }

    private LocalGeneration generation(ChatRequest request, StreamEmitter emitter) {
        LocalGeneration generation = new LocalGeneration(request, emitter, !templated);
        String prompt = prompt(request, generation.tools());
        int promptTokens = countTokens(prompt);
        if (promptTokens >= contextSize) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The prompt has %d tokens; model %s holds %d"
                    .formatted(promptTokens, modelId, contextSize));
        }
        int maxTokens = Math.min(request.maxOutputTokens(DEFAULT_MAX_TOKENS), contextSize - promptTokens);
        InferenceParameters parameters = parameters(request, prompt, maxTokens, generation.grammar());
        acquire();
        try {
            requireOpen();
            if (generation.begin()) {
                run(parameters, generation);
            }
        } finally {
            lock.unlock();
        }
        generation.finish(promptTokens, maxTokens);
        return generation;
    }

    private void run(InferenceParameters parameters, LocalGeneration generation) {
        LlamaIterator iterator = model.generate(parameters).iterator();
        boolean finished = false;
        try {
            while (iterator.hasNext()) {
                LlamaOutput output = iterator.next();
                boolean last = !iterator.hasNext();
                finished = last;
                if (!generation.accept(output.text, !last)) {
                    break;
                }
            }
        } catch (SomaException e) {
            throw e;
        } catch (RuntimeException e) {
            throw Upstream.failure(name, 500, true, "llama.cpp failed: " + e.getMessage(), e);
        } finally {
            if (!finished) {
                // Client gone, stop sequence found or a failure: stop the engine at once.
                iterator.cancel();
            }
        }
    }

    private InferenceParameters parameters(ChatRequest request, String prompt, int maxTokens, String grammar) {
        // A seed asks for repeatable output: the whole prompt is evaluated afresh (see the class comment).
        InferenceParameters parameters = new InferenceParameters(prompt).setNPredict(maxTokens)
                .setCachePrompt(request.seed() == null);
        if (request.temperature() != null) {
            parameters.setTemperature(request.temperature().floatValue());
        }
        if (request.topP() != null) {
            parameters.setTopP(request.topP().floatValue());
        }
        if (request.seed() != null) {
            parameters.setSeed((int) (long) request.seed());
        }
        if (request.presencePenalty() != null) {
            parameters.setPresencePenalty(request.presencePenalty().floatValue());
        }
        if (request.frequencyPenalty() != null) {
            parameters.setFrequencyPenalty(request.frequencyPenalty().floatValue());
        }
        if (grammar != null) {
            parameters.setGrammar(grammar);
        }
        return parameters;
    }

    private void acquire() {
        try {
            if (!lock.tryLock(lockTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw Upstream.failure(name, 503, true,
                        "the local model stayed busy for %s".formatted(lockTimeout), null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Upstream.failure(name, 0, false, "interrupted while waiting for the local model", e);
        }
    }

    /** A closed native model must not be touched again: it would crash the process, not throw. */
    private void requireOpen() {
        if (closed) {
            throw Upstream.failure(name, 503, true, "the local model is closed", null);
        }
    }
}
