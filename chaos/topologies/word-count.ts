import { defineTopology } from '../../src/index.ts';
import { buildWordCount } from '../../topologies/word-count.ts';

/**
 * topologies/word-count.ts on the chaos suite's own topics (CHAOS_INPUT_TOPIC, CHAOS_OUTPUT_TOPIC), so
 * that a run never shares topics with the demo or the tests on the same broker.
 */
export default defineTopology({
  applicationId: process.env.CHAOS_APPLICATION_ID ?? 'chaos-word-count',
  bucketMs: 60 * 60 * 1000,
  build(builder) {
    buildWordCount(builder, {
      input: process.env.CHAOS_INPUT_TOPIC ?? 'chaos-text-lines',
      output: process.env.CHAOS_OUTPUT_TOPIC ?? 'chaos-word-counts',
    });
  },
});
