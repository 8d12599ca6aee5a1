/**
 * Persisted names of timestep's DBOS workflows and steps: the same strings as Python's
 * `timestep.durable._names`. They are stored in the DBOS system database and compared on replay and
 * recovery, so they are compatibility data (pinned by `test/durable-names.test.ts`).
 */

/** The workflow that runs one uninterrupted stretch of a run. */
export const SEGMENT_WORKFLOW = 'timestep.segment';
/** A non-streamed model call. */
export const MODEL_STEP = 'timestep.model.get_response';
/** A streamed model call (its checkpoint is the completed response). */
export const MODEL_STREAM_STEP = 'timestep.model.stream_response';
/** Reads the approval decisions a resumed segment applies. */
export const DECISIONS_STEP = 'timestep.approvals.read';
/** Reads a session's history at the start of a run (its checkpoint is the history used). */
export const SESSION_READ_STEP = 'timestep.session.read';
/** Appends a finished run's new items to its session (idempotent). */
export const SESSION_WRITE_STEP = 'timestep.session.write';
/** Records a failed segment's end (and, in segments before 2026-12-02, a fork's final save). */
export const SAVE_STEP = 'timestep.state.save';
/**
 * Reads the version a fork's segment extends, just before its final save (its checkpoint is the
 * version, so a replay after a crash finds the fork's own save instead of writing another).
 */
export const FORK_BASE_STEP = 'timestep.fork.base';

/** Step name of a function-tool call. */
export const toolStep = (toolName: string): string => `timestep.tool:${toolName}`;

/** Step name of a handoff invocation. */
export const handoffStep = (toolName: string): string => `timestep.handoff:${toolName}`;

/**
 * Workflow id of the segment that continues `runId` from stored version `baseVersion` (0: the
 * run's first segment). Two processes resuming the same waiting run name the same workflow.
 */
export const segmentId = (runId: string, baseVersion: number): string => `${runId}@${baseVersion}`;

/** Step name of a call to a tool of one of the agent's MCP servers (its public tool name). */
export const mcpStep = (toolName: string): string => `timestep.mcp:${toolName}`;

/** Step name of listing the tools of one of the agent's MCP servers (once per turn). */
export const mcpListStep = (serverName: string): string => `timestep.mcp.list:${serverName}`;

/** Key under which an MCP tool call's idempotency key is sent in the request's `_meta`. */
export const MCP_IDEMPOTENCY_META_KEY = 'timestep/idempotency-key';
