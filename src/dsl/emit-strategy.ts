/** When a windowed aggregation forwards its results (Kafka Streams' EmitStrategy.StrategyType). */
export type StrategyType = 'ON_WINDOW_UPDATE' | 'ON_WINDOW_CLOSE';

/**
 * When a windowed aggregation emits (Kafka Streams' EmitStrategy, KIP-825). `onWindowUpdate()`, the
 * default, forwards every update of a window. `onWindowClose()` forwards each window's final result
 * once, when it closes (stream time ≥ window end + grace), without a suppress buffer: after every
 * record, the aggregation reads the windows that closed since its last emission from its own store
 * and forwards them, by window start and then key.
 */
export class EmitStrategy {
  private constructor(private readonly strategyType: StrategyType) {}

  private static readonly UPDATE = new EmitStrategy('ON_WINDOW_UPDATE');
  private static readonly CLOSE = new EmitStrategy('ON_WINDOW_CLOSE');

  /** Forward every update of every window (the default). */
  static onWindowUpdate(): EmitStrategy {
    return EmitStrategy.UPDATE;
  }

  /** Forward each window's final result once, when stream time passes its end plus grace. */
  static onWindowClose(): EmitStrategy {
    return EmitStrategy.CLOSE;
  }

  type(): StrategyType {
    return this.strategyType;
  }
}
