import { useState, type FormEvent } from "react";

const REASONS = ["I don't understand the prompt", "Outside my expertise", "Contains personal data", "Prompt is harmful or broken"];

/** Skipping needs a reason; common ones are one click away. */
export function SkipForm({ onSkip, disabled }: { onSkip: (reason: string) => void; disabled: boolean }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  if (!open)
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)} disabled={disabled}>
        Skip…
      </button>
    );
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (reason.trim()) onSkip(reason.trim());
  };
  return (
    <form className="skip-form" onSubmit={onSubmit} aria-label="Skip this task">
      <label>
        Why skip?
        <input list="skip-reasons" value={reason} onChange={(e) => setReason(e.target.value)} required autoFocus maxLength={500} />
      </label>
      <datalist id="skip-reasons">
        {REASONS.map((r) => (
          <option key={r} value={r} />
        ))}
      </datalist>
      <button type="submit" disabled={disabled || !reason.trim()}>
        Skip task
      </button>
      <button type="button" className="link-button" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}
