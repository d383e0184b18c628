// A promise-based confirmation dialog: `if (await confirmAction({...}))`.
// ConfirmHost (in the root layout) renders the one <dialog>.

export interface ConfirmRequest {
  title: string;
  message: string;
  /** more lines under the message (e.g. what else goes) */
  details?: string[];
  confirmLabel: string;
  danger?: boolean;
}

export const pendingConfirm = $state<{ request: ConfirmRequest | null; resolve: ((ok: boolean) => void) | null }>({ request: null, resolve: null });

/** Asks the user; resolves true when they confirm. */
export function confirmAction(request: ConfirmRequest): Promise<boolean> {
  pendingConfirm.resolve?.(false);
  return new Promise((resolve) => {
    pendingConfirm.request = request;
    pendingConfirm.resolve = resolve;
  });
}

/** Closes the dialog with an answer. */
export function answerConfirm(ok: boolean): void {
  const resolve = pendingConfirm.resolve;
  pendingConfirm.request = null;
  pendingConfirm.resolve = null;
  resolve?.(ok);
}
