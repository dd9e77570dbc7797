/**
 * Thumbnails of the retrieval grid's images, as data URIs: the worker decodes them (pixels are
 * Python's job, py_bridge/evaluation/thumbnails.py) and answers small base64 JPEGs through JSON.
 */
import type { EvaluationReport } from '../evaluation/report.js';

/** What the worker's `report.thumbnails` answers: per path, a base64 JPEG or why there is none. */
export interface ThumbnailResult {
  thumbnails: Array<{ data: string | null; error: string | null }>;
}

/** What fetching thumbnails needs of the worker. */
export interface ThumbnailHost {
  invoke(method: string, payload: Record<string, unknown>): Promise<unknown>;
}

/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_PX = 96;

/** Data URIs by image path (a path that failed maps to null), for every image the retrieval grid shows. */
export async function fetchThumbnails(
  host: ThumbnailHost,
  report: EvaluationReport,
): Promise<Map<string, string | null>> {
  const paths = new Set<string>();
  for (const entry of report.retrieval) {
    if (entry.image) paths.add(entry.image);
    for (const match of entry.matches) if (match.image) paths.add(match.image);
  }
  const out = new Map<string, string | null>();
  if (paths.size === 0) return out; // embeddings: no image to show, and no worker call needed
  const list = [...paths];
  const { thumbnails } = (await host.invoke('report.thumbnails', {
    paths: list,
    size: THUMBNAIL_PX,
  })) as ThumbnailResult;
  list.forEach((path, i) => {
    const data = thumbnails[i]?.data;
    out.set(path, data ? `data:image/jpeg;base64,${data}` : null);
  });
  return out;
}
