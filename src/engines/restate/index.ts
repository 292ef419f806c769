// switchboard/restate: run pipelines on a Restate cluster. This entry loads the Restate SDK (an
// optional peer dependency); `import "switchboard"` never does.

export type { RestateClient, RestateClientOptions } from "./client.ts"
export { RestateClientError, restateClient } from "./client.ts"
export type { DecideRequest, RestateEndpoint, RestateEndpointOptions, RestateWaiting } from "./endpoint.ts"
export { restateEndpoint } from "./endpoint.ts"
export type { ProjectionJournal } from "./projection.ts"
export { projectionJournal } from "./projection.ts"
export type { RestateNode, RestateServer, RestateServerOptions } from "./server.ts"
export { freePort, RestateServerError, restateServerBinary, startRestateServer } from "./server.ts"
export { restateStepExecutor } from "./step-executor.ts"
