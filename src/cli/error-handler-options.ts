/**
 * The error-handler flags of `worker` and `batch`: what happens to a record a processor throws on
 * (--on-processing-error) or a sink cannot serialize (--on-serialization-error), and, for workers,
 * the dead-letter topic that receives every record a handler continues past. Records that cannot be
 * deserialized keep their own flag, --on-bad-record.
 */
import { Option, type Command } from 'commander';

import {
  ContinueProductionExceptionHandler,
  DefaultProductionExceptionHandler,
  LogAndContinueExceptionHandler,
  LogAndFailExceptionHandler,
  type ErrorHandlingConfig,
} from '../processor/error-handlers.ts';

export interface ErrorHandlerFlags {
  onProcessingError?: 'fail' | 'continue';
  onSerializationError?: 'fail' | 'continue';
  deadLetterTopic?: string;
}

export function addErrorHandlerOptions(command: Command, options: { deadLetter: boolean }): Command {
  command
    .addOption(
      new Option(
        '--on-processing-error <action>',
        'a processor (your code) throws on a record: fail the run, or continue without the record at that processor (logged, counted in lambda_streams_dropped_records_total{reason="processing-error"}); default: the file\'s config, else fail',
      ).choices(['fail', 'continue']),
    )
    .addOption(
      new Option(
        '--on-serialization-error <action>',
        'a sink cannot serialize a record: fail the run, or continue without it (counted as reason="serialization"); default: the file\'s config, else fail',
      ).choices(['fail', 'continue']),
    );
  if (options.deadLetter)
    command.option(
      '--dead-letter-topic <topic>',
      'an existing topic that receives every record skipped by --on-bad-record skip or a "continue" above: the input key and value bytes, with topic, partition, offset, timestamp, processor and error in headers',
    );
  return command;
}

/** The handlers the flags name; a flag not given leaves the option to the file's config (default: fail). */
export function errorHandlersFrom(flags: ErrorHandlerFlags): ErrorHandlingConfig {
  return {
    ...(flags.onProcessingError
      ? {
          processingExceptionHandler:
            flags.onProcessingError === 'continue'
              ? new LogAndContinueExceptionHandler()
              : new LogAndFailExceptionHandler(),
        }
      : {}),
    ...(flags.onSerializationError
      ? {
          productionExceptionHandler:
            flags.onSerializationError === 'continue'
              ? new ContinueProductionExceptionHandler()
              : new DefaultProductionExceptionHandler(),
        }
      : {}),
    ...(flags.deadLetterTopic ? { deadLetterQueueTopic: flags.deadLetterTopic } : {}),
  };
}
