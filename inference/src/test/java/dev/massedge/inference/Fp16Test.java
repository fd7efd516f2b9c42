package dev.massedge.inference;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class Fp16Test {
  @Test
  void roundTripsRepresentableValuesAndRoundsOthers() {
    for (float f : new float[] {0f, -0f, 1f, -2.5f, 65504f, 0.000061035156f, 5.9604645e-8f}) {
      assertThat(Fp16.toFloat(Fp16.fromFloat(f))).isEqualTo(f);
    }
    assertThat(Fp16.fromFloat(1f)).isEqualTo((short) 0x3c00);
    assertThat(Fp16.toFloat(Fp16.fromFloat(1e6f))).isInfinite();
    assertThat(Fp16.toFloat(Fp16.fromFloat(0.1f)))
        .isCloseTo(0.1f, org.assertj.core.api.Assertions.within(1e-4f));
  }
}
