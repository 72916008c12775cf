// renderMail: each account mail has its subject and recipient, a text part
// that holds the whole link on a line of its own (what a person copies when
// the HTML does not render), an HTML part that escapes whatever it
// interpolates, and says how long the link lives.
import { describe, expect, it } from "vitest";
import type { MailJob } from "../../src/features/mail/store";
import { contrast } from "../../src/core/brand";
import { renderMail } from "../../src/features/mail/templates";

type Mail = Extract<MailJob, { kind: "mail" }>;
type LinkTemplate = Exclude<
  Extract<Mail, { link: string }>["template"],
  "email_sign_in_code" | "organization_invitation"
>;

const USER_ID = "0b9f5a40-7c1e-4f51-9d55-0d5b3c1f2a10";
const LINK = "https://app.example.com/verify-email?token=Zm9vYmFyYmF6&x=1";

const IGNORE = "If you did not ask for this, ignore this message";

const CASES: { template: LinkTemplate; subject: string; expiry: string; ignore: string }[] = [
  // v3: following it keeps whoever registered signed in, so it says whose registration to ignore.
  {
    template: "email_verification",
    subject: "Verify your email address",
    expiry: "24 hours",
    ignore: "If you did not create an account, ignore this message",
  },
  { template: "password_reset", subject: "Reset your password", expiry: "30 minutes", ignore: IGNORE },
  {
    template: "email_change_confirmation",
    subject: "Confirm your new email address",
    expiry: "1 hour",
    ignore: IGNORE,
  },
];

describe.each(CASES)("$template", ({ template, subject, expiry, ignore }) => {
  const job = { kind: "mail", template, to: "alice@example.com", userId: USER_ID, link: LINK } as const;
  const mail = renderMail(job);

  it("has its subject and goes to the job's address", () => {
    expect(mail.subject).toBe(subject);
    expect(mail.to).toBe("alice@example.com");
  });

  it("holds the whole link on a line of its own in the text part", () => {
    expect(mail.text.split("\n")).toContain(LINK);
  });

  it("says when the link expires, and to ignore a mail nobody asked for", () => {
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain(`expires in ${expiry}`);
      expect(part).toContain(ignore);
    }
  });

  it("links to it, escaped, in the HTML part", () => {
    expect(mail.html).toContain(`<a href="https://app.example.com/verify-email?token=Zm9vYmFyYmF6&#38;x=1">`);
    expect(mail.html).not.toContain("&x=1");
  });

  it("escapes a hostile link in the HTML part", () => {
    const hostile = renderMail({ ...job, link: `https://app.example.com/x?token=a"><script>alert(1)</script>` });
    expect(hostile.html).not.toContain("<script>");
    expect(hostile.html).toContain(`href="https://app.example.com/x?token=a&#34;&#62;&#60;script&#62;`);
    expect(hostile.html).toContain("&#60;script&#62;");
    // The text part is plain text: the link stays exactly what was minted.
    expect(hostile.text.split("\n")).toContain(`https://app.example.com/x?token=a"><script>alert(1)</script>`);
  });
});

describe("email_change_notice", () => {
  const job: Mail = {
    kind: "mail",
    template: "email_change_notice",
    to: "old@example.com",
    userId: USER_ID,
    newEmail: "new@example.com",
  };
  const mail = renderMail(job);

  it("goes to the old address and names the new one", () => {
    expect(mail.subject).toBe("Your email address is changing");
    expect(mail.to).toBe("old@example.com");
    expect(mail.text).toContain("new@example.com");
    expect(mail.html).toContain("new@example.com");
  });

  it("carries no link", () => {
    expect(mail.text).not.toMatch(/https?:\/\//);
    expect(mail.html).not.toContain("<a ");
  });

  it("escapes a hostile new address in the HTML part", () => {
    const hostile = renderMail({ ...job, newEmail: `"<img src=x onerror=alert(1)>"@evil.example` });
    expect(hostile.html).not.toContain("<img");
    expect(hostile.html).toContain("&#34;&#60;img src=x onerror=alert(1)&#62;&#34;@evil.example");
    expect(hostile.text).toContain(`"<img src=x onerror=alert(1)>"@evil.example`);
  });
});

describe("email_verification (v3): a stranger's registration is to be ignored", () => {
  it(
    "says that following the link confirms an account created with this " +
      "address, and to ignore it if you created none",
    () => {
      const mail = renderMail({
        kind: "mail",
        template: "email_verification",
        to: "victim@example.com",
        userId: USER_ID,
        link: LINK,
      });
      for (const part of [mail.text, mail.html]) {
        expect(part).toContain("confirms an account created with this email address");
        expect(part).toContain("If you did not create an account, ignore this message and do not open the link");
      }
    },
  );
});

describe("email_changed_notice (v3)", () => {
  const mail = renderMail({
    kind: "mail",
    template: "email_changed_notice",
    to: "old@example.com",
    userId: USER_ID,
    newEmail: "new@example.com",
  });

  it("tells the old address that it was replaced, and by which address, with no link", () => {
    expect(mail.subject).toBe("Your email address was changed");
    expect(mail.to).toBe("old@example.com");
    expect(mail.text).toContain("new@example.com");
    expect(mail.text).not.toMatch(/https?:\/\//);
    expect(mail.html).not.toContain("<a ");
  });

  it("escapes a hostile new address in the HTML part", () => {
    const hostile = renderMail({
      kind: "mail",
      template: "email_changed_notice",
      to: "old@example.com",
      userId: USER_ID,
      newEmail: `"<img src=x>"@evil.example`,
    });
    expect(hostile.html).not.toContain("<img");
  });
});

describe("email_in_use_notice (v3)", () => {
  const mail = renderMail({ kind: "mail", template: "email_in_use_notice", to: "taken@example.com", userId: USER_ID });

  it("tells the address's holder that someone tried to use it, with no link and no other address", () => {
    expect(mail.subject).toBe("Someone tried to use your email address");
    expect(mail.to).toBe("taken@example.com");
    expect(mail.text).toContain("nothing changed");
    expect(mail.text).not.toMatch(/https?:\/\//);
    expect(mail.text).not.toContain("@");
    expect(mail.html).not.toContain("<a ");
  });
});

describe("email_sign_in_code", () => {
  const link = "https://app.example.com/magic-link?token=Zm9vYmFyYmF6";
  const mail = renderMail({ kind: "mail", template: "email_sign_in_code", to: "a@example.com", code: "042917", link });

  it("shows the code in the subject and the text, the whole link on a line of its own, and its 10-minute life", () => {
    expect(mail.subject).toBe("042917 is your sign-in code");
    expect(mail.text).toContain("Your sign-in code is 042917.");
    expect(mail.text.split("\n")).toContain(link);
    for (const part of [mail.text, mail.html]) expect(part).toContain("expire in 10 minutes");
    expect(mail.html).toContain(`<a href="${link}">`);
  });
});

describe("the brand (BRAND_NAME, BRAND_LOGO_URL, BRAND_COLOR)", () => {
  const job: Mail = { kind: "mail", template: "password_reset", to: "alice@example.com", userId: USER_ID, link: LINK };
  const brand = { name: "Acme <Corp>", logoUrl: "https://cdn.acme.example/logo.png", color: "#ffcc00" };
  const mail = renderMail(job, brand);

  it("shows the link as a real button in the brand's accent, its words readable on it, and the link under it", () => {
    const button = mail.html.match(/<a href="([^"]+)" style="([^"]+)">([^<]+)<\/a>/)!;
    expect(button[1]).toBe("https://app.example.com/verify-email?token=Zm9vYmFyYmF6&#38;x=1");
    expect(button[3]).toBe("Choose a new password");
    const background = button[2]!.match(/background:(#[0-9a-f]{6})/)![1]!;
    const foreground = button[2]!.match(/;color:(#[0-9a-f]{6})/)![1]!;
    expect(contrast(background, foreground)).toBeGreaterThanOrEqual(4.5);
    expect(mail.html).toContain(`<a href="https://app.example.com/verify-email?token=Zm9vYmFyYmF6&#38;x=1">`);
  });

  it("names the brand, escaped, in both parts, and shows the logo in the HTML part only", () => {
    expect(mail.html).toContain("Acme &#60;Corp&#62;");
    expect(mail.html).not.toContain("Acme <Corp>");
    expect(mail.html).toContain('<img src="https://cdn.acme.example/logo.png" alt=""');
    expect(mail.text).toContain("Acme <Corp>");
    expect(mail.text).not.toContain("cdn.acme.example");
  });

  it("keeps a plain-text part with the button's words and the whole link on its own line", () => {
    expect(mail.text.split("\n")).toEqual(expect.arrayContaining(["Choose a new password:", LINK]));
    expect(mail.text).not.toMatch(/<\/?(p|a|br|div|strong|img)\b/);
  });

  it("carries the default brand when none is given", () => {
    expect(renderMail(job).html).toContain("SecureAuth");
  });
});

describe("reauthentication_code", () => {
  const mail = renderMail({
    kind: "mail",
    template: "reauthentication_code",
    to: "a@example.com",
    userId: "7f1c2a4e-1b7d-4c5e-9a55-0c1f2d3e4f50",
    code: "042917",
  });

  it("shows the code in the subject and the text with its 10-minute life, and carries no link", () => {
    expect(mail.subject).toBe("042917 is your confirmation code");
    expect(mail.text).toContain("Your confirmation code is 042917.");
    for (const part of [mail.text, mail.html]) expect(part).toContain("expires in 10 minutes");
    expect(mail.text).not.toMatch(/https?:\/\//);
    expect(mail.html).not.toContain("<a ");
  });
});

describe("organization_invitation", () => {
  const link = "https://app.example.com/accept-invitation?token=Zm9vYmFyYmF6";
  const mail = renderMail({
    kind: "mail",
    template: "organization_invitation",
    to: "bob@example.com",
    orgName: 'Acme <script>alert("x")</script>',
    link,
  });

  it("names the organization in its subject and goes to the invited address", () => {
    expect(mail.subject).toBe('You are invited to join Acme <script>alert("x")</script>');
    expect(mail.to).toBe("bob@example.com");
  });

  it("holds the whole link on a line of its own and says it lives 7 days", () => {
    expect(mail.text.split("\n")).toContain(link);
    expect(mail.text).toContain("expires in 7 days");
  });

  it("escapes the organization's name in the HTML part: a name is never markup", () => {
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).toContain("Acme &#60;script&#62;");
  });
});
