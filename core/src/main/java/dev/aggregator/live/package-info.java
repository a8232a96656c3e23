/**
 * Live updates without a transport: {@link dev.aggregator.live.LiveSchedule} decides which
 * subscriptions are due an update (their data changed, at most every 250 ms, their connection keeps
 * up) and groups those with the same query; {@link dev.aggregator.live.AnswerDiff} tells what
 * changed in an answer since it was last sent. The server pushes the results over {@code
 * /ws/analytics}.
 */
package dev.aggregator.live;
