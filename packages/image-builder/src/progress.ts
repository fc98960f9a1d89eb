/** Progress of long image work; libraries emit these, apps render them. */
export type ImageProgress =
  | { type: "stage"; stage: string; message: string }
  | { type: "output"; stage: string; line: string }
  | { type: "bytes"; stage: string; done: number; total: number | undefined }
  | { type: "percent"; stage: string; percent: number };

export type ImageProgressListener = (event: ImageProgress) => void;
