/** One problem in a JSON document, placed by its JSON path (`boot.kernel`). */
export interface JsonProblem {
  path: string;
  message: string;
}

export type JsonObject = Record<string, unknown>;

export const isJsonObject = (v: unknown): v is JsonObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** JSON text, or a value already parsed, as an object; else the problem that says why not. */
export function readJsonObject(
  json: unknown,
): { ok: true; value: JsonObject } | { ok: false; problems: JsonProblem[] } {
  let raw: unknown = json;
  if (typeof json === "string") {
    try {
      raw = JSON.parse(json);
    } catch (e) {
      return { ok: false, problems: [{ path: "", message: `not JSON: ${(e as Error).message}` }] };
    }
  }
  if (!isJsonObject(raw))
    return { ok: false, problems: [{ path: "", message: "must be an object" }] };
  return { ok: true, value: raw };
}
