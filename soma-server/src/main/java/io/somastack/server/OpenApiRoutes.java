package io.somastack.server;

import static io.javalin.apibuilder.ApiBuilder.get;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The API's OpenAPI 3.1 document, {@code GET /openapi.json} (written as
 * {@code openapi.yaml} beside this class's resources, served as JSON), and its reference page
 * {@code GET /docs}: Swagger UI served from its webjar, so the page needs no CDN. Public, no
 * credentials. Thread-safe.
 */
public final class OpenApiRoutes implements EndpointGroup {
    /** The document, a resource of soma-server. */
    public static final String DOCUMENT = "/openapi.yaml";

    private static final String WEBJAR = "META-INF/resources/webjars/swagger-ui/";
    /** What the page loads from the webjar, with its media type; nothing else of the jar is served. */
    private static final Map<String, String> ASSETS = Map.of(
            "swagger-ui.css", "text/css; charset=utf-8",
            "index.css", "text/css; charset=utf-8",
            "swagger-ui-bundle.js", "text/javascript; charset=utf-8",
            "favicon-32x32.png", "image/png",
            "favicon-16x16.png", "image/png");
    private static final String INITIALIZER = """
            window.onload = () => {
              window.ui = SwaggerUIBundle({
                url: "/openapi.json",
                dom_id: "#swagger-ui",
                deepLinking: true,
                validatorUrl: null,
                presets: [SwaggerUIBundle.presets.apis],
                layout: "BaseLayout"
              });
            };
            """;
    private static final String PAGE = """
            <!DOCTYPE html>
            <html lang="en">
              <head>
                <meta charset="UTF-8">
                <title>SomaStack API reference</title>
                <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
                <link rel="stylesheet" type="text/css" href="/docs/index.css">
                <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
                <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
              </head>
              <body>
                <noscript>This page needs JavaScript; the document itself is <a href="/openapi.json">/openapi.json</a>.</noscript>
                <div id="swagger-ui"></div>
                <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
                <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
              </body>
            </html>
            """;
    /** Swagger UI sets inline styles; everything else comes from this server. */
    private static final String PAGE_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            + "script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

    private final String assetDirectory = WEBJAR + swaggerUiVersion() + "/";
    /** The document as JSON, read on the first request rather than at start-up. */
    private final AtomicReference<byte[]> json = new AtomicReference<>();

    /** The document as a tree, read from the resource. */
    public static JsonNode document() {
        try (InputStream in = OpenApiRoutes.class.getResourceAsStream(DOCUMENT)) {
            if (in == null) {
                throw new IllegalStateException(DOCUMENT + " is not on the class path");
            }
            return new YAMLMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void addEndpoints() {
        get("/openapi.json", ctx -> ctx.contentType("application/json").result(json.updateAndGet(read -> read != null ? read : Json.bytes(document()))));
        get("/docs", ctx -> ctx.header("Content-Security-Policy", PAGE_POLICY).contentType("text/html; charset=utf-8").result(PAGE));
        get("/docs/{file}", this::asset);
    }

    private void asset(Context ctx) {
        String file = ctx.pathParam("file");
        ctx.header("Cache-Control", "public, max-age=86400");
        if (file.equals("swagger-initializer.js")) {
            ctx.contentType("text/javascript; charset=utf-8").result(INITIALIZER);
            return;
        }
        String type = ASSETS.get(file);
        InputStream in = type == null ? null : OpenApiRoutes.class.getClassLoader().getResourceAsStream(assetDirectory + file);
        if (in == null) {
            throw new SomaException(ErrorCode.NOT_FOUND, "No file %s of the reference page".formatted(file));
        }
        ctx.contentType(type).result(in);
    }

    private static String swaggerUiVersion() {
        try (InputStream in = OpenApiRoutes.class.getClassLoader().getResourceAsStream("META-INF/maven/org.webjars/swagger-ui/pom.properties")) {
            if (in == null) {
                throw new IllegalStateException("The swagger-ui webjar is not on the class path");
            }
            Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
