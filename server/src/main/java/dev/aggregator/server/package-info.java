/**
 * The server: {@link dev.aggregator.server.Main} reads the configuration ({@link
 * dev.aggregator.server.ServerConfig}) and starts an {@link
 * dev.aggregator.server.AggregatorServer}; {@link dev.aggregator.server.Routes} lists every HTTP
 * route in one place, each a few lines that call the core.
 */
package dev.aggregator.server;
