package dev.massedge.drivers.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tegrastats lines as Jetsons print them (Nano / TX2 form and Orin form). */
class TegraStatsTest {
  static final String NANO =
      "RAM 2448/3964MB (lfb 4x2MB) SWAP 0/1982MB (cached 0MB) CPU [12%@1479,5%@1479,off,4%@1479]"
          + " EMC_FREQ 3% GR3D_FREQ 27% PLL@35C CPU@37.5C PMIC@50C GPU@35.5C AO@43.5C"
          + " thermal@36.25C POM_5V_IN 2035/2035 POM_5V_GPU 120/118 POM_5V_CPU 331/331";
  static final String ORIN =
      "11-24-2026 09:00:01 RAM 3014/30536MB (lfb 6344x4MB) SWAP 0/15268MB (cached 0MB)"
          + " CPU [0%@729,1%@729,2%@729,3%@729] EMC_FREQ 0%@2133 GR3D_FREQ 41%@[305,305] VIC_FREQ"
          + " 729 APE 174 CV0@-256C CPU@45.968C SOC2@42.531C GPU@-256C tj@46.281C"
          + " VDD_GPU_SOC 2390mW/2390mW VDD_CPU_CV 398mW/398mW VIN_SYS_5V0 2889mW/2889mW";

  @Test
  void aNanoLineBecomesMetrics() {
    Map<String, Double> m = TegraStats.parse(NANO);
    assertThat(m)
        .containsEntry("jetson.ram_used_mb", 2448.0)
        .containsEntry("jetson.ram_total_mb", 3964.0)
        .containsEntry("jetson.swap_used_mb", 0.0)
        .containsEntry("jetson.cpu0.load_pct", 12.0)
        .containsEntry("jetson.cpu0.freq_mhz", 1479.0)
        .containsEntry("jetson.cpu3.load_pct", 4.0)
        .doesNotContainKey("jetson.cpu2.load_pct") // offline core
        .containsEntry("jetson.gpu.load_pct", 27.0)
        .containsEntry("jetson.emc.load_pct", 3.0)
        .containsEntry("jetson.temp.cpu_c", 37.5)
        .containsEntry("jetson.temp.gpu_c", 35.5)
        .containsEntry("jetson.temp.thermal_c", 36.25)
        .containsEntry("jetson.power.pom_5v_in_mw", 2035.0)
        .containsEntry("jetson.power.pom_5v_gpu_mw", 120.0);
  }

  @Test
  void anOrinLineBecomesMetricsAndAbsentSensorsAreLeftOut() {
    Map<String, Double> m = TegraStats.parse(ORIN);
    assertThat(m)
        .containsEntry("jetson.ram_used_mb", 3014.0)
        .containsEntry("jetson.cpu3.load_pct", 3.0)
        .containsEntry("jetson.gpu.load_pct", 41.0)
        .containsEntry("jetson.temp.cpu_c", 45.968)
        .containsEntry("jetson.temp.tj_c", 46.281)
        .doesNotContainKey("jetson.temp.cv0_c")
        .doesNotContainKey("jetson.temp.gpu_c")
        .containsEntry("jetson.power.vdd_gpu_soc_mw", 2390.0)
        .containsEntry("jetson.power.vin_sys_5v0_mw", 2889.0);
    assertThat(TegraStats.parse("garbage")).isEmpty();
  }

  @Test
  void theRunningProgramIsReadAndAMissingOneIsNoError(@TempDir Path dir) throws Exception {
    assertThat(TegraStats.start(dir.resolve("no-such-tegrastats").toString(), 1000)).isNull();
    // a stand-in that prints like tegrastats, at the interval it is given
    Path fake = dir.resolve("tegrastats");
    Files.writeString(
        fake,
        "#!/bin/sh\n[ \"$1\" = --interval ] || exit 2\nwhile true; do echo '"
            + NANO
            + "'; sleep 0.1; done\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
    try (TegraStats t = TegraStats.start(fake.toString(), 100)) {
      assertThat(t).isNotNull();
      await().atMost(Duration.ofSeconds(10)).until(() -> t.lines() >= 2);
      assertThat(t.latest()).containsEntry("jetson.gpu.load_pct", 27.0);
    }
  }
}
