/**
 * JMH benchmarks. Build with {@code mvn -pl benchmarks -am package -DskipTests}, run with
 * {@code java -jar benchmarks/target/benchmarks.jar <BenchmarkName>}.
 */
package dev.inmesh.benchmarks;
