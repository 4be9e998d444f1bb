/** Process helpers shared by local mode and the CLI (Node only). */

/** Whether a process with this pid exists: signal 0 checks existence only; EPERM means it exists but belongs to another user. */
export function processIsAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
