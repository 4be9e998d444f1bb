/** The job panel: stage list, status line (a polite live region), elapsed time, upload bar and notices. */
import type { JobView } from '../../core/api-schemas';
import { byId, fill, h } from './dom';
import type { Explanation } from './explain';
import { formatDuration, formatBytes } from './format';
import { elapsedMs, stagesOf, statusLine, uploadingStages, type StageView } from './stages';
import { explanationBlock } from './view-error';

const STATE_WORDS: Record<StageView['state'], string> = {
  done: 'done',
  current: 'in progress',
  pending: 'not started',
  failed: 'stopped here',
};

export class JobPanel {
  readonly section = byId('job');
  private readonly stages = byId('stages');
  private readonly status = byId('job-status');
  private readonly elapsed = byId('elapsed');
  private readonly upload = byId('upload-progress');
  private readonly bar = byId<HTMLProgressElement>('upload-bar');
  private readonly uploadText = byId('upload-text');
  private readonly capacity = byId('capacity');
  private readonly network = byId('network');
  private readonly jobNote = byId('job-note');
  private readonly error = byId('job-error');
  private readonly ref = byId('job-ref');
  private lastStatusText = '';

  reset(): void {
    this.section.hidden = false;
    this.drawStages(uploadingStages());
    this.setStatus('Preparing the upload');
    this.elapsed.textContent = '';
    this.upload.hidden = true;
    this.bar.value = 0;
    this.capacity.hidden = true;
    this.capacity.removeAttribute('data-testid');
    this.network.hidden = true;
    this.jobNote.hidden = true;
    this.error.hidden = true;
    this.error.replaceChildren();
    this.ref.hidden = true;
  }

  note(text: string | undefined): void {
    this.jobNote.hidden = text === undefined;
    this.jobNote.textContent = text ?? '';
  }

  /** Only real changes are written: an unchanged live region stays silent for screen readers. */
  setStatus(text: string): void {
    if (text === this.lastStatusText) return;
    this.lastStatusText = text;
    this.status.textContent = text;
  }

  showJob(job: JobView, nowMs: number): void {
    this.drawStages(stagesOf(job));
    this.setStatus(statusLine(job.status));
    this.tick(job, nowMs);
    this.ref.hidden = false;
    byId('job-id').textContent = job.jobId;
    byId<HTMLAnchorElement>('job-link').href = `?job=${encodeURIComponent(job.jobId)}`;
    if (job.status !== 'AWAITING_UPLOAD') this.upload.hidden = true;
  }

  tick(job: JobView, nowMs: number): void {
    this.elapsed.textContent = `${job.terminal ? 'Took' : 'Elapsed'} ${formatDuration(elapsedMs(job, nowMs))}`;
  }

  uploadProgress(loaded: number, total: number): void {
    this.upload.hidden = false;
    const percent = total > 0 ? Math.floor((loaded / total) * 100) : 0;
    this.bar.value = percent;
    this.bar.setAttribute('aria-valuetext', `${percent} %`);
    this.uploadText.textContent = `${formatBytes(loaded)} of ${formatBytes(total)} (${percent} %)`;
  }

  capacityWait(code: string, message: string, secondsLeft: number, attempt: number): void {
    this.capacity.hidden = false;
    this.capacity.setAttribute('data-testid', 'capacity-wait');
    fill(
      this.capacity,
      h('code', {}, code),
      ` ${message} Trying again in `,
      h('strong', { class: 'countdown' }, `${secondsLeft} s`),
      attempt > 1 ? ` (attempt ${attempt + 1})` : '',
      '.',
    );
    this.setStatus(`Waiting for a free slot (${code})`);
  }

  clearCapacity(): void {
    this.capacity.hidden = true;
  }

  networkTrouble(message: string, delayMs: number, attempt: number): void {
    this.network.hidden = false;
    fill(
      this.network,
      h('strong', {}, 'Connection problem: '),
      message,
      ` Trying again in ${Math.max(1, Math.round(delayMs / 1000))} s (attempt ${attempt}).`,
    );
  }

  clearNetwork(): void {
    this.network.hidden = true;
  }

  showError(ex: Explanation, heading: string): void {
    this.error.hidden = false;
    fill(this.error, h('h3', {}, heading), explanationBlock(ex, true));
  }

  clearError(): void {
    this.error.hidden = true;
    this.error.replaceChildren();
  }

  private drawStages(stages: StageView[]): void {
    fill(
      this.stages,
      stages.map((stage) =>
        h(
          'li',
          { class: `stage ${stage.state}`, attrs: stage.state === 'current' ? { 'aria-current': 'step' } : {} },
          h('span', { class: 'stage-label' }, stage.label),
          h('span', { class: 'visually-hidden' }, `: ${STATE_WORDS[stage.state]}`),
          stage.durationMs !== undefined && stage.state !== 'pending'
            ? h('span', { class: 'stage-time' }, formatDuration(stage.durationMs))
            : null,
        ),
      ),
    );
  }
}
