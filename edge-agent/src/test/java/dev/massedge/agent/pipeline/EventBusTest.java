package dev.massedge.agent.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventBusTest {
  @Test
  void aSubscriberThatThrowsKeepsItsSubscriptionAndTheOthersTheirs() {
    EventBus bus = new EventBus();
    List<Long> heard = new ArrayList<>();
    List<Long> others = new ArrayList<>();
    bus.subscribe(
        "flaky",
        e -> {
          PipelineEvent.FaceCount c = (PipelineEvent.FaceCount) e;
          if (c.count() == 1) {
            throw new IllegalStateException("broker gone");
          }
          heard.add((long) c.count());
        });
    bus.subscribe("steady", e -> others.add((long) ((PipelineEvent.FaceCount) e).count()));

    for (int i = 0; i < 3; i++) {
      bus.publish(count(i));
    }

    assertThat(heard).containsExactly(0L, 2L);
    assertThat(others).containsExactly(0L, 1L, 2L);
    assertThat(bus.recent()).hasSize(3);
  }

  @Test
  void aFilteredSubscriberHearsOnlyTheEventsItAccepts() {
    EventBus bus = new EventBus();
    List<Integer> heard = new ArrayList<>();
    bus.subscribe(
        "odd counts",
        e -> ((PipelineEvent.FaceCount) e).count() % 2 == 1,
        e -> heard.add(((PipelineEvent.FaceCount) e).count()));
    for (int i = 0; i < 5; i++) {
      bus.publish(count(i));
    }
    assertThat(heard).containsExactly(1, 3);
  }

  @Test
  void aPlainFluxSubscriberIsCancelledAtItsFirstException() {
    // why subscribe(who, …) exists: Reactor drops a lambda subscriber that throws
    EventBus bus = new EventBus();
    List<Integer> heard = new ArrayList<>();
    bus.events()
        .subscribe(
            e -> {
              int n = ((PipelineEvent.FaceCount) e).count();
              heard.add(n);
              if (n == 1) {
                throw new IllegalStateException("once");
              }
            });
    for (int i = 0; i < 3; i++) {
      bus.publish(count(i));
    }
    assertThat(heard).containsExactly(0, 1);
  }

  private static PipelineEvent count(int n) {
    return new PipelineEvent.FaceCount("door", n, n * 0.2, 1_700_000_000_000L + n);
  }
}
