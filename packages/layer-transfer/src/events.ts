/** What a push or pull reports as it goes; only the apps render it. */
export type TransferEvent =
  /** A layer or image: already there (`present`), or moved. */
  | { readonly type: "item"; readonly id: string; readonly action: "present" | "pushed" | "pulled" }
  /** Bytes moved so far out of the total planned (raw bytes on push, blob bytes on pull). */
  | { readonly type: "progress"; readonly done: number; readonly total: number };

export type TransferEventListener = (event: TransferEvent) => void;

/** Counts bytes against a total and reports each change. */
export function progressReporter(
  total: number,
  emit: TransferEventListener | undefined,
): (bytes: number) => void {
  let done = 0;
  emit?.({ type: "progress", done, total });
  return (bytes) => {
    done += bytes;
    emit?.({ type: "progress", done, total });
  };
}
