// Loaded by every jest project (jest.config.js): a test that makes no `expect` assertion fails, so a
// test that cannot fail (a placeholder, a call with nothing checked) is an error, not a pass.
// (supertest's `.expect(200)` does not count: say what the answer must be with `expect`.)
beforeEach(() => {
  expect.hasAssertions();
});
