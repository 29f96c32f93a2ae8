package io.somastack.models;

import io.somastack.kernel.Clock;
import io.somastack.models.internal.AnthropicProvider;
import io.somastack.models.internal.DefaultModelRouter;
import io.somastack.models.internal.LocalProvider;
import io.somastack.models.internal.OpenAiProvider;
import io.somastack.models.internal.TokenEstimator;
import java.util.ArrayList;
import java.util.List;

/**
 * Factory of the models capability. Creating a router creates (and, for {@code local},
 * loads) every configured provider; a failure closes those already created.
 *
 * <pre>{@code
 * ModelsConfig config = ModelsConfig.from(settings);
 * settings.validate();
 * ModelRouter router = Models.router(config, Clock.system());
 * }</pre>
 */
public final class Models {

    private Models() {
    }

    /** A router over providers created from {@code config}. */
    public static ModelRouter router(ModelsConfig config, Clock clock) {
        List<ModelProvider> providers = new ArrayList<>();
        TokenEstimator tokens = null;
        try {
            for (ProviderConfig provider : config.providers()) {
                if (provider.kind() != ProviderKind.LOCAL && tokens == null) {
                    tokens = new TokenEstimator();
                }
                providers.add(provider(provider, tokens, clock));
            }
        } catch (RuntimeException e) {
            providers.reversed().forEach(ModelProvider::close);
            throw e;
        }
        return new DefaultModelRouter(config, providers, clock);
    }

    /** A router over providers the caller created (names must match the config's aliases). */
    public static ModelRouter router(ModelsConfig config, List<ModelProvider> providers, Clock clock) {
        return new DefaultModelRouter(config, providers, clock);
    }

    /** One provider, outside any router. The caller closes it. */
    public static ModelProvider provider(ProviderConfig config, Clock clock) {
        return provider(config, config.kind() == ProviderKind.LOCAL ? null : new TokenEstimator(), clock);
    }

    private static ModelProvider provider(ProviderConfig config, TokenEstimator tokens, Clock clock) {
        return switch (config.kind()) {
            case OPENAI -> new OpenAiProvider(config, tokens, clock);
            case ANTHROPIC -> new AnthropicProvider(config, tokens, clock);
            case LOCAL -> new LocalProvider(config, clock);
        };
    }
}
