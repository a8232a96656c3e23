package dev.aggregator.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aggregator.aggregation.EventSchema;
import dev.aggregator.alerting.Alert;
import dev.aggregator.alerting.AlertJson;
import dev.aggregator.alerting.AlertStatus;
import dev.aggregator.query.QueryResult;
import io.vertx.core.WorkerExecutor;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /api/analytics/dashboard}: the overview as data — a panel per busiest event type (its
 * query spec, which {@code /ws/analytics} accepts as is to keep it live, and its current answer),
 * ingest health with the newest dead letters, and the alerts that need attention.
 */
final class DashboardHandler {
  /** Panels at most: the busiest event types, by events since the catalog began. */
  static final int PANELS = 6;

  static final int DEAD_LETTERS = 5;

  private final Engine agg;
  private final OpsHandlers ops;
  private final WorkerExecutor workers;

  DashboardHandler(Engine agg, OpsHandlers ops, WorkerExecutor workers) {
    this.agg = agg;
    this.ops = ops;
    this.workers = workers;
  }

  void dashboard(RoutingContext ctx) {
    workers
        .executeBlocking(this::build, false)
        .onComplete(
            done -> {
              if (done.succeeded()) {
                Http.send(
                    ctx,
                    200,
                    "application/json",
                    io.vertx.core.buffer.Buffer.buffer(done.result().toString()));
              } else {
                ctx.fail(done.cause());
              }
            });
  }

  private ObjectNode build() throws Exception {
    ObjectNode out = Http.JSON.createObjectNode();
    ArrayNode panels = out.putArray("panels");
    for (String type : busiestTypes()) {
      Map<String, List<String>> spec = new LinkedHashMap<>();
      spec.put("metric", List.of(type + "_count"));
      spec.put("function", List.of("count"));
      spec.put("start", List.of("now-1h"));
      spec.put("granularity", List.of("1m"));
      spec.put("fill", List.of("zero"));
      QueryResult answer = agg.query(agg.queryParser().parse(n -> spec.getOrDefault(n, List.of())));
      ObjectNode panel = panels.addObject();
      panel.put("id", type);
      panel.put("title", type + " events per minute, last hour");
      ObjectNode query = panel.putObject("query");
      spec.forEach((k, v) -> query.put(k, v.get(0)));
      panel.set("data", Http.JSON.readTree(QueryHandlers.write(answer)));
    }

    ObjectNode ingest = Http.JSON.valueToTree(ops.ingest());
    ObjectNode dead = ingest.putObject("deadLetters");
    dead.put("kept", agg.deadLetters().size());
    dead.put("total", agg.deadLetters().total());
    dead.set("newest", Http.JSON.valueToTree(ops.newestDeadLetters(DEAD_LETTERS, null)));
    out.set("ingest", ingest);

    ObjectNode alerts = out.putObject("alerts");
    if (agg.embedded() == null) { // cluster mode serves no alert rules yet
      alerts.putObject("counts");
      alerts.putArray("active");
      return out;
    }
    alerts.set("counts", Http.JSON.valueToTree(counts()));
    ArrayNode active = alerts.putArray("active");
    for (Alert a :
        agg.embedded()
            .alerts()
            .list(
                EnumSet.of(
                    AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED, AlertStatus.EVALUATING))) {
      active.add(AlertJson.toApi(a));
    }
    return out;
  }

  private List<String> busiestTypes() {
    List<EventSchema> schemas = agg.rollups().read(r -> new ArrayList<>(r.catalog().schemas()));
    schemas.sort(Comparator.comparingLong(EventSchema::events).reversed());
    return schemas.stream().limit(PANELS).map(EventSchema::name).toList();
  }

  private Map<String, Integer> counts() {
    Map<String, Integer> counts = new LinkedHashMap<>();
    agg.embedded().alerts().counts().forEach((s, n) -> counts.put(s.wire(), n));
    return counts;
  }
}
