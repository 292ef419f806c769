// switchboard/restate: run pipelines on a Restate cluster. This entry loads the Restate SDK (an
// optional peer dependency); `import "switchboard"` never does.
export { restateEndpoint } from "./endpoint.ts"
export type { DecideRequest, RestateEndpoint, RestateEndpointOptions, RestateWaiting } from "./endpoint.ts"
export { restateClient, RestateClientError } from "./client.ts"
export type { RestateClient, RestateClientOptions } from "./client.ts"
export { restateStepExecutor } from "./step-executor.ts"
export { projectionJournal } from "./projection.ts"
export type { ProjectionJournal } from "./projection.ts"
export { freePort, restateServerBinary, RestateServerError, startRestateServer } from "./server.ts"
export type { RestateNode, RestateServer, RestateServerOptions } from "./server.ts"
