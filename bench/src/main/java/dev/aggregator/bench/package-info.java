/**
 * Measurements: JMH microbenchmarks of each hot path ({@code *Benchmark}), {@link
 * dev.aggregator.bench.LoadGenerator}, which drives a running server over HTTP with the standard
 * workload of docs/DESIGN.md §9 ({@link dev.aggregator.testing.StandardWorkload}), and {@link
 * dev.aggregator.bench.QueryBenchmark}, which loads days of it and measures query latency (a main
 * class, not JMH).
 *
 * <p>Everything here runs from one jar, {@code bench/target/benchmarks.jar}; see {@code
 * bench/README.md}. Nothing in core or server depends on this package.
 */
package dev.aggregator.bench;
