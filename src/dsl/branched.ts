import type { ProcessorContext } from '../processor/api.ts';
import type { Record } from '../processor/record.ts';
import type { InternalStreamsBuilder } from './internal-builder.ts';
import { KStream } from './kstream.ts';
import { passThrough } from './processors/basic.ts';

/** Name of a branch, and optionally what to do with its stream (Kafka Streams' Branched). */
export class Branched<K, V> {
  private constructor(
    readonly name: string | undefined,
    readonly chain: ((stream: KStream<K, V>) => KStream<any, any> | void) | undefined,
    readonly returnsStream: boolean,
  ) {}

  static as<K, V>(name: string): Branched<K, V> {
    return new Branched<K, V>(name, undefined, true);
  }

  /** Applies `fn` to the branch; its result is what the branch map holds. */
  static withFunction<K, V>(fn: (stream: KStream<K, V>) => KStream<any, any>, name?: string): Branched<K, V> {
    return new Branched<K, V>(name, fn, true);
  }

  /** Hands the branch to `fn`; the branch map does not hold it. */
  static withConsumer<K, V>(fn: (stream: KStream<K, V>) => void, name?: string): Branched<K, V> {
    return new Branched<K, V>(name, fn, false);
  }
}

/**
 * The result of KStream.split() (Kafka Streams' BranchedKStream): each record goes to the first branch
 * whose predicate matches, else to the default branch, else nowhere.
 */
export class BranchedKStream<K, V> {
  private readonly result = new Map<string, KStream<any, any>>();

  /** @internal */
  constructor(
    private readonly builder: InternalStreamsBuilder,
    private readonly splitterName: string,
    private readonly keySerde: KStream<K, V>['keySerde'],
    private readonly valueSerde: KStream<K, V>['valueSerde'],
    private readonly repartitionRequired: boolean,
    private readonly routing: SplitRouting,
  ) {}

  branch(predicate: (key: K, value: V) => boolean, branched?: Branched<K, V>): this {
    const name = `${this.splitterName}${branched?.name ?? String(this.routing.predicates.length + 1)}`;
    this.routing.predicates.push(predicate as (key: unknown, value: unknown) => boolean);
    this.addChild(name, branched);
    return this;
  }

  /** Routes records that match no predicate to a last branch (named "0" unless given a name). */
  defaultBranch(branched?: Branched<K, V>): Map<string, KStream<any, any>> {
    this.addChild(`${this.splitterName}${branched?.name ?? '0'}`, branched);
    return this.result;
  }

  /** Ends the split: records matching no predicate are dropped. */
  noDefaultBranch(): Map<string, KStream<any, any>> {
    return this.result;
  }

  private addChild(name: string, branched: Branched<K, V> | undefined): void {
    this.routing.childNames.push(name);
    this.builder.topology.addProcessor(name, passThrough, this.splitterName);
    const stream = new KStream<K, V>(
      this.builder,
      name,
      this.keySerde,
      this.valueSerde,
      this.repartitionRequired,
    );
    if (!branched?.chain) {
      this.result.set(name, stream);
      return;
    }
    const chained = branched.chain(stream);
    if (branched.returnsStream && chained) this.result.set(name, chained);
  }
}

/** Shared by the splitter processor and the BranchedKStream that declares its branches. */
export interface SplitRouting {
  predicates: Array<(key: unknown, value: unknown) => boolean>;
  childNames: string[];
}

/** The splitter node's processor: first matching predicate wins, then the default branch if any. */
export function splitterProcessor(routing: SplitRouting) {
  return () => {
    let context: ProcessorContext;
    return {
      init(ctx: ProcessorContext) {
        context = ctx;
      },
      process(record: Record<unknown, unknown>) {
        const { predicates, childNames } = routing;
        for (let i = 0; i < predicates.length; i++) {
          if (predicates[i]!(record.key, record.value)) {
            context.forward(record, childNames[i]);
            return;
          }
        }
        if (childNames.length > predicates.length) context.forward(record, childNames[predicates.length]);
      },
    };
  };
}
