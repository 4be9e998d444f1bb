/** The presigned POST form and S3's refusals, as the page builds and reads them (the XHR itself runs in the browser tests). */
import { describe, expect, it } from 'vitest';
import { parseS3Error, refusal, uploadForm, UploadFailure } from '../../web/src/upload';

describe('uploadForm', () => {
  it('sends every policy field in the given order, then the file last', async () => {
    const form = uploadForm(
      { fields: { key: 'bundles/a.zip', 'Content-Type': 'application/zip', Policy: 'p', 'X-Amz-Signature': 's' } },
      new Blob(['zip']),
    );
    const names = [...form.keys()];
    expect(names).toEqual(['key', 'Content-Type', 'Policy', 'X-Amz-Signature', 'file']);
    const file = form.get('file') as File;
    expect(file.name).toBe('bundle.zip');
    expect(await file.text()).toBe('zip');
  });
});

describe('S3 refusals', () => {
  it("reads S3's error document, entities decoded", () => {
    expect(
      parseS3Error(
        '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired &amp; gone</Message></Error>',
      ),
    ).toEqual({
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy expired & gone',
    });
    expect(parseS3Error('<html>proxy</html>')).toEqual({});
  });

  it('says what a refusal means for the user', () => {
    const tooLarge = refusal(
      400,
      '<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message></Error>',
      2048,
      1024,
    );
    expect(tooLarge).toBeInstanceOf(UploadFailure);
    expect(tooLarge).toMatchObject({ kind: 'refused', status: 400, s3Code: 'EntityTooLarge', bundleCode: 'BUNDLE_TOO_LARGE' });
    expect(tooLarge.message).toMatch(/2\.0 KiB; the limit is 1\.0 KiB/);
    expect(refusal(403, '<Error><Code>AccessDenied</Code><Message>Policy expired</Message></Error>', 1, 1).message).toMatch(
      /expired before the upload finished/,
    );
    expect(refusal(502, '', 1, undefined).message).toContain('HTTP 502');
  });
});
