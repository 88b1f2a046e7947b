import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import Mustache
import NIOCore

/// The account pages' routes: sign-in with a second factor, registration, password reset and the account page.
extension Web {
    func addIdentityRoutes(to root: Router<CivitasRequestContext>) {
        let router = root.group().add(middleware: WebFailureMiddleware(controller: self))
        router.get("signin", use: signInPage)
        router.post("signin", use: signIn)
        router.get("signin/verify", use: secondFactorPage)
        router.post("signin/verify", use: secondFactor)
        router.get("account/two-factor", use: twoFactorSetupPage)
        router.post("account/two-factor", use: twoFactorSetup)
        router.get("register", use: registerPage)
        router.post("register", use: register)
        router.get("verify-email", use: verifyEmailPage)
        router.post("verify-email", use: verifyEmail)
        router.get("verify-email/resend", use: resendConfirmationPage)
        router.post("verify-email/resend", use: resendConfirmation)
        router.post("account/resend-confirmation", use: resendOwnConfirmation)
        router.get("password/forgot", use: forgotPage)
        router.post("password/forgot", use: forgot)
        router.get("password/reset", use: resetPage)
        router.post("password/reset", use: reset)
        router.get("account", use: account)
        router.post("signout", use: signOut)
        router.post("account/signout-everywhere", use: signOutEverywhere)
        router.post("account/delete", use: deleteAccount)
        router.post("account/details", use: saveDetails)
        router.post("account/password", use: changePassword)
        router.post("account/tokens", use: createToken)
        router.post("account/tokens/:id/revoke", use: revokeToken)
    }
}
