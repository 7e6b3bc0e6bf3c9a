// Command modelgate takes a trained model from the registry to production
// without a person following the checklist: verify, stage, smoke-test,
// canary, judge, roll out or roll back, and record everything.
//
// main.go maps errors to exit codes; app.go is the only place adapters are
// chosen from the configuration (config.go); each command has its own file.
package main
