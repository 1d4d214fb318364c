import { Layout } from '../layout.tsx'
import type { PageContext } from '../context.ts'
import { ConsentException, ServiceContactDetails } from '../components/help.tsx'

/**
 * /information: the options a person has besides (or as well as) this portal, and what disclosing
 * means for their job. Short and accurate; the details vary by force and nation, so it says where to
 * ask. No links leave the portal: numbers are written out, to call from any phone.
 */
export function InformationPage({ context }: { context: PageContext }): JSX.Element {
  return (
    <Layout context={context} title="Your options, and what it means for your job" tabTitle="Options and information">
      <h1>Your options, and what it means for your job</h1>
      <p class="lead">
        You can use any of these as well as, or instead of, this site. An IDVA can help you with any of them, and can explain
        what each would mean for you before you decide.
      </p>
      <nav aria-label="On this page">
        <ul class="list">
          <li><a href="#clares-law">Asking about a partner's past (Clare's Law)</a></li>
          <li><a href="#protection">Protection notices and orders</a></li>
          <li><a href="#reporting">Reporting to the police where you live</a></li>
          <li><a href="#refuges">Refuges, and help with children</a></li>
          <li><a href="#your-job">Your career and vetting</a></li>
          <li><a href="#stopping">If you are worried about your own behaviour</a></li>
        </ul>
      </nav>

      <h2 id="clares-law">Asking about a partner's past (Clare's Law)</h2>
      <p>
        The Domestic Violence Disclosure Scheme, known as Clare's Law, lets you ask the police whether a partner, or a friend's
        or relative's partner, has a record of abuse or violence. This is the <strong>right to ask</strong>. The police can
        also tell you without being asked if they believe you are at risk. This is the <strong>right to know</strong>.
      </p>
      <p>
        You ask the police, usually the force where you live: online, at a police station, or by calling 101. If that is the
        force you work for, or the one the person harming you works for, an IDVA can talk it through with you and help you ask
        in a way that feels safe. Scotland and Northern Ireland have similar schemes.
      </p>

      <h2 id="protection">Protection notices and orders</h2>
      <p>
        After an incident, a senior police officer can give the person harming you a protection notice straight away. It can
        stop them contacting you or coming to your home for 48 hours. A magistrates' court can then make a protection order,
        which lasts up to 28 days. Newer Domestic Abuse Protection Notices and Orders are replacing these in some areas; they
        can last longer and can set other conditions.
      </p>
      <p>
        You can also apply to a family court yourself for a non-molestation order or an occupation order (who may live in the
        home). You may be able to get free legal help. An IDVA can explain which would help you and support you through it.
      </p>

      <h2 id="reporting">Reporting to the police where you live</h2>
      <p>
        You can report abuse straight to the police force where you live, or where it happened, without using this site: call
        <strong> 101</strong>, or <strong>999</strong> in an emergency. If you cannot speak, call 999 from a mobile and press
        <strong> 55</strong> when asked.
      </p>
      <p>
        If the person harming you works for that force, you can say so when you call, or ask an IDVA to help you report it so
        that it is looked at by officers who do not know either of you.
      </p>

      <h2 id="refuges">Refuges, and help with children</h2>
      <p>
        A refuge is a safe house for people escaping abuse, and for their children. Its address is kept secret. The National
        Domestic Abuse Helpline, <strong>0808 2000 247</strong> (free, 24 hours), can look for a space with you, anywhere in
        the country, so that you can be away from the area where you work.
      </p>
      <p>
        Children who see or hear abuse are harmed by it too, and can get support of their own. An IDVA can help you with
        schools, childcare and children's services. The NSPCC helpline, <strong>0808 800 5000</strong>, gives advice to adults
        worried about a child.
      </p>

      <h2 id="your-job">Your career and vetting</h2>
      <ul class="list">
        <li>
          <strong>Nothing you write here reaches your employer</strong>: not your manager, not professional standards, not
          anyone in the force, unless you agree.
        </li>
        <li>
          <ConsentException />
        </li>
        <li>
          Being harmed by someone is not misconduct, and it is not a failing. Asking for help is not a reason to lose your job
          or your role.
        </li>
        <li>
          Vetting looks at risks to the force, such as close links to people with criminal records. If you are worried about
          what vetting would make of your situation, get independent advice before you decide anything: from the Police
          Federation (for officers), your trade union, such as UNISON or GMB (for police staff), or a staff association or
          support network. An IDVA can help you think it through.
        </li>
      </ul>

      <h2 id="stopping">If you are worried about your own behaviour</h2>
      <p>
        If you are worried that you are harming a partner or family member, and you want to stop, the Respect Phone Line gives
        confidential advice: <strong>0808 802 4040</strong> (free).
      </p>

      <ServiceContactDetails contact={context.contact} />
      <p>
        <a href="/">Go to the start page</a> or <a href="/safety">read about staying safe and other ways to get help</a>.
      </p>
    </Layout>
  )
}
