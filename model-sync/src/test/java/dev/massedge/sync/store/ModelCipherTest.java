package dev.massedge.sync.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AES-256-GCM at rest: round trip, a fresh nonce each time, a changed byte or key refused. */
class ModelCipherTest {
  @TempDir Path tmp;

  @Test
  void sealsOpensAndRefusesWhatWasChanged() throws Exception {
    byte[] key = new byte[32];
    key[0] = 7;
    Path k = Files.writeString(tmp.resolve("model.key"), Base64.getEncoder().encodeToString(key));
    ModelCipher c = ModelCipher.fromFile(k);
    byte[] plain = "weights weights weights".getBytes();
    byte[] a = c.seal(plain);
    byte[] b = c.seal(plain);
    assertThat(a).isNotEqualTo(b); // a fresh nonce each time
    assertThat(ModelCipher.sealed(a)).isTrue();
    assertThat(c.open(a)).isEqualTo(plain);
    a[a.length - 20] ^= 1;
    assertThatThrownBy(() -> c.open(a)).isInstanceOf(ModelCipher.SealedFileException.class);
    assertThatThrownBy(() -> new ModelCipher(new byte[32]).open(b))
        .hasMessageContaining("does not open it");
    assertThatThrownBy(() -> c.open(plain)).hasMessageContaining("not an encrypted model file");
    Files.writeString(k, "short");
    assertThatThrownBy(() -> ModelCipher.fromFile(k))
        .hasMessageContaining("holds no model key")
        .hasMessageNotContaining("short");
  }
}
