import type { RefreshObjectStatus } from '../aas/types';
import type { RunProgress } from './contracts';

/**
 * Durable Functions limits custom status to 16 KB of UTF-16 JSON (about 8,000 characters), and a
 * whole-model refresh can have hundreds of partitions. While a run is going its custom status
 * carries the first objects and a count per status; the finished run's output carries them all.
 */
export const STATUS_OBJECT_LIMIT = 50;
const STATUS_MESSAGE_LIMIT = 3;
const STATUS_TEXT_LIMIT = 300;
const STATUS_CHARACTER_BUDGET = 7_000;

export function countObjectsByStatus(objects: readonly RefreshObjectStatus[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const object of objects) counts[object.status] = (counts[object.status] ?? 0) + 1;
  return counts;
}

export function compactProgress(progress: RunProgress): RunProgress {
  const clip = (text: string) => (text.length > STATUS_TEXT_LIMIT ? `${text.slice(0, STATUS_TEXT_LIMIT)}…` : text);
  const compact: RunProgress = {
    ...progress,
    objects: progress.objects.slice(0, STATUS_OBJECT_LIMIT),
    objectCounts: countObjectsByStatus(progress.objects),
    messages: progress.messages.slice(0, STATUS_MESSAGE_LIMIT).map((message) => ({ ...message, message: clip(message.message) })),
    ...(progress.lastIssue === undefined ? {} : { lastIssue: { ...progress.lastIssue, message: clip(progress.lastIssue.message) } }),
    ...(progress.error === undefined ? {} : { error: { ...progress.error, message: clip(progress.error.message) } }),
  };
  if (progress.objects.length > STATUS_OBJECT_LIMIT) compact.objectsTruncated = true;
  // Long names could still exceed the budget: then only the counts are shown.
  if (JSON.stringify(compact).length > STATUS_CHARACTER_BUDGET) return { ...compact, objects: [], messages: [], objectsTruncated: true };
  return compact;
}
