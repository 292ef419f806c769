// What an MCP call's result or failure becomes: a JSON value for the journal and the model, or a
// `ToolError` that names the server and the tool and says what happened.

import { ErrorCode, McpError as SdkError } from "@modelcontextprotocol/sdk/types.js"
import { messageOf, ToolError } from "../contract/errors.ts"

interface Where {
  readonly server: string
  readonly tool: string
  readonly key: string
}

interface ContentBlock {
  readonly type: string
  readonly text?: string
  readonly [field: string]: unknown
}

const textOf = (content: readonly ContentBlock[]): string | undefined =>
  content.every((block) => block.type === "text") ? content.map((block) => block.text ?? "").join("\n") : undefined

/**
 * The value of a tool result: its structured content when it has some, its text when it is all
 * text, else its content blocks as they are (images and resources stay JSON). `isError` fails the
 * call with the server's text, which an agent's model then sees.
 */
export const valueOfResult = (result: Record<string, unknown>, { server, tool, key }: Where): unknown => {
  // Servers of the 2024-10-07 protocol answer `{ toolResult }`.
  if (!("content" in result) && "toolResult" in result) return result["toolResult"]
  const content = (Array.isArray(result["content"]) ? result["content"] : []) as ContentBlock[]
  if (result["isError"] === true) {
    const said = textOf(content) ?? JSON.stringify(content)
    throw new ToolError({
      tool: key,
      reason: "failed",
      retryable: false,
      message: `MCP tool "${tool}" on server "${server}" failed: ${said || "(no message)"}`,
    })
  }
  if (result["structuredContent"] !== undefined) return result["structuredContent"]
  return textOf(content) ?? content
}

/** A call that got no result: a lost connection, a timeout, a refusal by the server, a transport error. */
export const callFailure = (
  error: unknown,
  { server, tool, key, retryable, stderr }: Where & { readonly retryable: boolean; readonly stderr: string },
): ToolError => {
  const fail = (reason: "invalid-arguments" | "invalid-output" | "failed", message: string, again = retryable) =>
    new ToolError({ tool: key, reason, retryable: again, message, cause: error })
  if (error instanceof ToolError) return error
  if (error instanceof SdkError) {
    switch (error.code) {
      case ErrorCode.ConnectionClosed: {
        const said = stderr === "" ? "" : `; its stderr: ${stderr}`
        return fail("failed", `MCP server "${server}" disconnected during the call of "${tool}"${said}`)
      }
      case ErrorCode.RequestTimeout:
        return fail("failed", `MCP tool "${tool}" on server "${server}" timed out: ${error.message}`)
      case ErrorCode.InvalidParams:
        // The SDK checks structured content against the tool's output schema with this code.
        return /output schema|structured content/i.test(error.message)
          ? fail("invalid-output", `MCP tool "${tool}" on server "${server}" answered off its output schema: ${error.message}`, false)
          : fail("invalid-arguments", `MCP server "${server}" rejected the arguments of "${tool}": ${error.message}`, false)
      default:
        return fail("failed", `MCP server "${server}" refused the call of "${tool}" (protocol error ${error.code}): ${error.message}`, false)
    }
  }
  return fail("failed", `MCP call of "${tool}" on server "${server}" failed: ${messageOf(error)}`)
}
