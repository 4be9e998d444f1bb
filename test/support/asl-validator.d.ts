/** Minimal typings for asl-validator (it ships none): the validator function of its CommonJS main. */
declare module 'asl-validator' {
  interface AslValidationError {
    message?: string;
    'Error code'?: string;
    path?: string;
  }
  export default function validator(
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): { isValid: boolean; errors: AslValidationError[] };
}
