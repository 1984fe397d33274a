// `lambda-streams/testing`: test a topology in-process, as with Kafka Streams' TopologyTestDriver.
// The root entry (`lambda-streams`) exports the same classes, for code written before this entry existed.
export { TopologyTestDriver, type TopologyTestDriverConfig } from './topology-test-driver.ts';
export { TestInputTopic, TestOutputTopic, type TestRecord, type InputTopicOptions } from './test-topics.ts';
