import { afterEach, beforeEach, vi } from "vitest"

// A test that prints is a test that hides something: console output fails it.
const methods = ["log", "info", "warn", "error", "debug"] as const
let printed: string[] = []

beforeEach(() => {
  printed = []
  for (const method of methods) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      printed.push(`console.${method}: ${args.map(String).join(" ")}`)
    })
  }
})

afterEach(() => {
  vi.restoreAllMocks()
  if (printed.length > 0) throw new Error(`test printed to the console:\n${printed.join("\n")}`)
})
