// Package engine is Formwork's domain and interpreter: the app bundle model and
// its meta-schemas, rule compilation and evaluation, access resolution, the
// workflow state machine, audit events, error codes, and the Store and Queue
// interfaces that the backends implement. It never knows which backend it runs on.
package engine
