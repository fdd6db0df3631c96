import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { expect, test } from "vitest";
import { rotatedAccessKeyStack } from "./app.js";

test("the example app synthesizes one user, its secret, the rotation function and a 30-day schedule", () => {
  const template = Template.fromStack(rotatedAccessKeyStack(new App()));
  template.hasResourceProperties("AWS::IAM::User", { UserName: "ci-deployer" });
  template.hasResourceProperties("AWS::SecretsManager::Secret", { Name: "ci/deployer" });
  template.resourceCountIs("AWS::Lambda::Function", 1);
  template.hasResourceProperties("AWS::SecretsManager::RotationSchedule", { RotationRules: { ScheduleExpression: "rate(30 days)" } });
  template.hasOutput("SecretArn", { Value: { Ref: Match.stringLikeRegexp("Secret") } });
  expect(Object.keys(template.findResources("AWS::IAM::Policy"))).toHaveLength(2);
}, 120_000);
