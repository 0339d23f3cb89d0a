// Package exampleenv is the scaffolding the example programs share: their
// AWS configuration (the in-process snssqstest emulator by default,
// LocalStack or any endpoint with -endpoint or AWS_ENDPOINT_URL, real AWS
// with -aws), their common flags, main with its signal handling and exit
// status, and the graceful stop of publishers and subscribers. What an
// example does with SNS and SQS stays in the example.
package exampleenv
