// Toast notifications: one list, rendered once by the root layout.

export interface Toast {
  id: number;
  kind: 'success' | 'error' | 'info';
  text: string;
}

/** The toasts on screen, oldest first. */
export const toasts = $state<Toast[]>([]);

let nextId = 1;

/** Shows a toast; errors stay longer than confirmations. */
export function showToast(kind: Toast['kind'], text: string): void {
  const id = nextId++;
  toasts.push({ id, kind, text });
  while (toasts.length > 5) toasts.shift();
  setTimeout(() => dismissToast(id), kind === 'error' ? 10_000 : 5_000);
}

/** Removes one toast. */
export function dismissToast(id: number): void {
  const i = toasts.findIndex((t) => t.id === id);
  if (i >= 0) toasts.splice(i, 1);
}
