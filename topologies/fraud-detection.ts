import { Consumed, Grouped, Materialized, Produced, Serdes, defineTopology } from '../src/index.ts';

export interface Transaction {
  id: string;
  amount: number;
}

export interface AccountProfile {
  owner: string;
  /** Flag a transaction above this multiple of the account's running average (default 3). */
  alertFactor?: number;
}

export interface AccountStats {
  count: number;
  sum: number;
}

export interface FraudAlert {
  transactionId: string;
  owner: string;
  amount: number;
  /** Average of the account's earlier transactions. */
  averageBefore: number;
}

/** Transactions seen before an account's average is trusted. */
export const MIN_HISTORY = 3;

/**
 * Fraud detection: transactions (keyed by account id) join the account-profile table; each amount is
 * compared with the account's running average of earlier transactions and flagged when it is far above.
 * The running statistics are mergeable (sums and counts), so the serving layer can add batch and speed.
 */
export default defineTopology({
  applicationId: 'fraud-detection',
  bucketMs: 60 * 60 * 1000,
  inputTopics: ['transactions', 'account-profiles'],
  outputTopics: ['fraud-alerts'],
  build(builder) {
    const profiles = builder.table(
      'account-profiles',
      Consumed.with(Serdes.String(), Serdes.JSON<AccountProfile>()),
    );
    const transactions = builder.stream(
      'transactions',
      Consumed.with(Serdes.String(), Serdes.JSON<Transaction>()),
    );
    const stats = transactions
      .groupByKey(Grouped.with(Serdes.String(), Serdes.JSON<Transaction>()))
      .aggregate<AccountStats>(
        () => ({ count: 0, sum: 0 }),
        (_account, txn, acc) => ({ count: acc.count + 1, sum: acc.sum + txn.amount }),
        Materialized.as<string, AccountStats>('account-stats').withValueSerde(Serdes.JSON<AccountStats>()),
        { merge: (_account, a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum }) },
      );
    transactions
      .join(profiles, (txn, profile) => ({ txn, profile }))
      // The statistics already include this transaction (the aggregation runs first): take it out again.
      .join(stats, ({ txn, profile }, s) => {
        const earlier = s.count - 1;
        const averageBefore = earlier > 0 ? (s.sum - txn.amount) / earlier : 0;
        const factor = profile.alertFactor ?? 3;
        return earlier >= MIN_HISTORY && txn.amount > factor * averageBefore
          ? { transactionId: txn.id, owner: profile.owner, amount: txn.amount, averageBefore }
          : null;
      })
      .filter((_account, alert) => alert !== null)
      .to('fraud-alerts', Produced.with(Serdes.String(), Serdes.JSON<FraudAlert | null>()));
  },
});
