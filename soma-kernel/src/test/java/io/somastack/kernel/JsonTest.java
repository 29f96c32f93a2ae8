package io.somastack.kernel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JsonTest {
    record Priced(java.math.BigDecimal amount) {
    }

    @Test
    void readsADecimalFromANumberOrADecimalString() {
        assertThat(Json.read("{\"amount\":\"25.00\"}".getBytes(UTF_8), Priced.class).amount()).isEqualByComparingTo("25");
        assertThat(Json.read("{\"amount\":25.5}".getBytes(UTF_8), Priced.class).amount()).isEqualByComparingTo("25.5");
        assertThatThrownBy(() -> Json.read("{\"amount\":\"lots\"}".getBytes(UTF_8), Priced.class))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.detail()).startsWith("Field 'amount'"));
    }

    record Inner(String note, Instant at) {
    }

    record Body(String text, Integer count, Long limit, Boolean flag, Optional<Inner> inner, List<String> tags, Map<String, Object> extra) {
    }

    private static SomaException refusal(String json) {
        try {
            Json.read(json.getBytes(UTF_8), Body.class);
        } catch (SomaException e) {
            return e;
        }
        throw new AssertionError("accepted: " + json);
    }

    @Test
    void readsAWellFormedDocument() {
        Body body = Json.read("""
                {"text":"héllo 😀","count":3,"limit":10,"flag":true,"inner":{"note":"n","at":"2026-11-30T10:00:00+01:00"},"tags":["a"],"extra":{"k":"v"}}
                """.getBytes(UTF_8), Body.class);
        assertThat(body.text()).isEqualTo("héllo 😀");
        assertThat(body.inner().orElseThrow().at()).isEqualTo(Instant.parse("2026-11-30T09:00:00Z"));
    }

    @Test
    void refusesAnEmptyOrNullBody() {
        assertThatThrownBy(() -> Json.read(new byte[0], Body.class)).isInstanceOfSatisfying(SomaException.class,
                e -> assertThat(e.detail()).contains("empty"));
        assertThat(refusal("null").detail()).contains("JSON null");
        assertThatThrownBy(() -> Json.tree("null".getBytes(UTF_8))).isInstanceOf(SomaException.class);
        assertThatThrownBy(() -> Json.tree(new byte[0])).isInstanceOf(SomaException.class);
    }

    @Test
    void refusesScalarCoercionNamingTheField() {
        assertThat(refusal("{\"text\":7}").detail()).isEqualTo("Field 'text' must be a string");
        assertThat(refusal("{\"text\":true}").detail()).isEqualTo("Field 'text' must be a string");
        assertThat(refusal("{\"count\":1.5}").detail()).isEqualTo("Field 'count' must be an integer");
        assertThat(refusal("{\"limit\":\"5\"}").detail()).isEqualTo("Field 'limit' must be an integer");
        assertThat(refusal("{\"flag\":1}").detail()).isEqualTo("Field 'flag' must be a boolean (true or false)");
        assertThat(refusal("{\"tags\":\"a\"}").detail()).startsWith("Field 'tags'");
    }

    @Test
    void refusesNulAndLoneSurrogatesWherever_theyAppear() {
        assertThat(refusal("{\"text\":\"a\\u0000b\"}").detail()).isEqualTo("Field 'text' holds a NUL character (U+0000) at character 1, which cannot be stored");
        assertThat(refusal("{\"tags\":[\"ok\",\"\\ud800\"]}").detail()).startsWith("Field 'tags[1]' holds a lone surrogate (U+D800)");
        assertThat(refusal("{\"inner\":{\"note\":\"\\udc00x\"}}").detail()).startsWith("Field 'inner.note' holds a lone");
        assertThat(refusal("{\"extra\":{\"k\\u0000\":1}}").code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThatThrownBy(() -> Json.tree("{\"a\":[{\"b\":\"\\u0000\"}]}".getBytes(UTF_8)))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.detail()).startsWith("Field 'a[0].b' holds a NUL"));
    }

    @Test
    void refusesInstantsOutsideTheSupportedYears() {
        SomaException farPast = refusal("{\"inner\":{\"at\":\"-999999999-01-01T00:00:00Z\"}}");
        assertThat(farPast.code()).isEqualTo(ErrorCode.VALUE_OUT_OF_RANGE);
        assertThat(farPast.detail()).isEqualTo("'inner.at' must be in the years 0001 to 9999, not -999999999-01-01T00:00:00Z");
        assertThat(refusal("{\"inner\":{\"at\":1700000000}}").detail()).contains("'inner.at' must be an RFC 3339 timestamp");
        assertThat(refusal("{\"inner\":{\"at\":\"yesterday\"}}").code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThatThrownBy(() -> Instants.parse("from", "+10000-01-01T00:00:00Z"))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.detail()).startsWith("'from' must be in the years 0001 to 9999"));
    }

    @Test
    void refusesUnknownFieldsAndTrailingTokens() {
        SomaException unknown = refusal("{\"inner\":{\"nope\":1}}");
        assertThat(unknown.code()).isEqualTo(ErrorCode.UNKNOWN_FIELD);
        assertThat(unknown.detail()).isEqualTo("Unknown field 'inner.nope'");
        assertThat(refusal("{\"text\":\"a\"} {}").code()).isEqualTo(ErrorCode.MALFORMED_JSON);
        assertThat(refusal("{\"text\":").code()).isEqualTo(ErrorCode.MALFORMED_JSON);
        assertThatThrownBy(() -> Json.tree("{} []".getBytes(UTF_8))).isInstanceOfSatisfying(SomaException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_JSON));
    }
}
