package io.somastack.kernel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AeadTest {
    private final Aead aead = new Aead(Aead.newKey());

    @Test
    void opensWhatItSealed() {
        byte[] sealed = aead.seal("Bearer s3cret".getBytes(UTF_8), "tenant-a/api".getBytes(UTF_8));
        assertThat(new String(sealed, UTF_8)).doesNotContain("s3cret");
        assertThat(new String(aead.open(sealed, "tenant-a/api".getBytes(UTF_8)), UTF_8)).isEqualTo("Bearer s3cret");
    }

    @Test
    void refusesAnotherPlaceAnotherKeyOrAChangedByte() {
        byte[] sealed = aead.seal("Bearer s3cret".getBytes(UTF_8), "tenant-a/api".getBytes(UTF_8));
        assertThatThrownBy(() -> aead.open(sealed, "tenant-b/api".getBytes(UTF_8))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Aead(Aead.newKey()).open(sealed, "tenant-a/api".getBytes(UTF_8)))
                .isInstanceOf(IllegalArgumentException.class);
        sealed[sealed.length - 1] ^= 1;
        assertThatThrownBy(() -> aead.open(sealed, "tenant-a/api".getBytes(UTF_8))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sealsTheSameTextDifferentlyEachTime() {
        byte[] text = "same".getBytes(UTF_8);
        assertThat(aead.seal(text, new byte[0])).isNotEqualTo(aead.seal(text, new byte[0]));
    }

    @Test
    void refusesAKeyOfTheWrongLength() {
        assertThatThrownBy(() -> new Aead(new byte[16])).hasMessageContaining("32 bytes");
    }
}
