/**
 * Live updates: what changed in a subscribed query's answer since it was last sent. The server
 * pushes these over {@code /ws/analytics}.
 */
package dev.aggregator.live;
