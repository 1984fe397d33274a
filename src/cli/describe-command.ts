import { Option, type Command } from 'commander';
import { loadTopologyFile } from './load-topology.ts';

/** `lambda-streams describe <topology-file> [--format text|mermaid]` */
export function registerDescribeCommand(program: Command): void {
  program
    .command('describe')
    .description("print a topology's processor graph (Kafka Streams' text format, or Mermaid)")
    .argument('<topology-file>', 'a file in topologies/ that exports default defineTopology({...})')
    .addOption(
      new Option('-f, --format <format>', 'output format').choices(['text', 'mermaid']).default('text'),
    )
    .action(async (file: string, options: { format: 'text' | 'mermaid' }) => {
      const { topology, definition, bucketMs } = await loadTopologyFile(file);
      const description = topology.describe();
      if (options.format === 'mermaid') {
        process.stdout.write(description.toMermaid());
        return;
      }
      process.stdout.write(`Application: ${definition.applicationId} (bucket ${bucketMs} ms)\n`);
      process.stdout.write(description.toString());
    });
}
