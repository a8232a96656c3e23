package dev.aggregator.live;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LiveScheduleTest {
  private static final long MS = 1_000_000;
  private static final Map<String, List<String>> VIEWS =
      Map.of("metric", List.of("page_view_count"), "start", List.of("now-1h"));
  private static final Map<String, List<String>> BUYS = Map.of("metric", List.of("buy_value"));

  private final LiveSchedule<String> schedule = new LiveSchedule<>(Duration.ofMillis(250));

  @Test
  void aSubscriptionIsDueOnceItsTypeChangedAndAtMostOncePerGap() {
    var views = new LiveSchedule.Subscription("v", VIEWS, 0);
    var buys = new LiveSchedule.Subscription("b", BUYS, 0);
    Map<String, List<LiveSchedule.Subscription>> conns = Map.of("a", List.of(views, buys));

    assertThat(schedule.due(conns, 1_000 * MS, c -> true)).as("nothing changed").isEmpty();
    schedule.typesChanged(Set.of("page_view"));
    var due = schedule.due(conns, 1_000 * MS, c -> true);
    assertThat(due).containsOnlyKeys(VIEWS);
    assertThat(due.get(VIEWS)).extracting(t -> t.subscription().id).containsExactly("v");

    schedule.typesChanged(Set.of("page_view", "buy"));
    assertThat(schedule.due(conns, 1_100 * MS, c -> true).keySet())
        .as("views updated 100 ms ago waits; buys (never updated since its snapshot) goes")
        .containsExactly(BUYS);
    assertThat(schedule.due(conns, 1_250 * MS, c -> true).keySet())
        .as("the gap has passed: views' pending change goes, with no new event needed")
        .containsExactly(VIEWS);
  }

  @Test
  void theSameQueryOnManyConnectionsIsOneGroupAndASlowConnectionWaits() {
    var a = new LiveSchedule.Subscription("s1", VIEWS, 0);
    var b = new LiveSchedule.Subscription("other-id", VIEWS, 0);
    var slow = new LiveSchedule.Subscription("s1", VIEWS, 0);
    Map<String, List<LiveSchedule.Subscription>> conns =
        Map.of("a", List.of(a), "b", List.of(b), "slow", List.of(slow));
    schedule.typesChanged(Set.of("page_view"));

    var due = schedule.due(conns, 1_000 * MS, c -> !c.equals("slow"));

    assertThat(due).containsOnlyKeys(VIEWS);
    assertThat(due.get(VIEWS))
        .extracting(LiveSchedule.Target::connection)
        .containsExactlyInAnyOrder("a", "b");
    assertThat(schedule.due(conns, 2_000 * MS, c -> true).get(VIEWS))
        .as("once it keeps up, the slow one's update comes")
        .extracting(LiveSchedule.Target::connection)
        .containsExactly("slow");
  }
}
