package com.moments.sdk.android

import android.content.ContentProvider
import android.content.ContentValues
import android.content.Context
import android.database.Cursor
import android.net.Uri

/**
 * Gives the native library the app's [Context], once per process, so that it verifies server certificates with
 * Android's trust manager (rustls-platform-verifier's Kotlin component, `org.rustls.platformverifier`): the
 * system's CAs, user-installed CAs where the app's network security config trusts them, and the config's own
 * rules. Without it every HTTPS request fails with a TLS error.
 */
internal object PlatformTrust {
    @Volatile
    private var done = false

    /** Loads `libmoments_ffi.so` (so that its JNI method is bound) and hands it [context]'s application context. */
    fun init(context: Context) {
        if (done) return
        synchronized(this) {
            if (done) return
            System.loadLibrary("moments_ffi")
            nativeInit(context.applicationContext ?: context)
            done = true
        }
    }

    /** `Java_com_moments_sdk_android_PlatformTrust_nativeInit` in crates/moments-ffi/src/android.rs. */
    @JvmStatic
    external fun nativeInit(context: Context)
}

/**
 * Runs [PlatformTrust.init] when the app's process starts, before `Application.onCreate`: Android creates the
 * content providers of the merged manifest first, so apps write no code for it. It answers no queries.
 */
public class PlatformTrustInitializer : ContentProvider() {
    /** Initialises the platform verifier with this provider's context. */
    override fun onCreate(): Boolean {
        PlatformTrust.init(requireNotNull(context) { "a content provider has a context in onCreate" })
        return true
    }

    /** Not a data provider: no rows. */
    override fun query(
        uri: Uri,
        projection: Array<out String>?,
        selection: String?,
        selectionArgs: Array<out String>?,
        sortOrder: String?,
    ): Cursor? = null

    /** Not a data provider: no type. */
    override fun getType(uri: Uri): String? = null

    /** Not a data provider: inserts nothing. */
    override fun insert(uri: Uri, values: ContentValues?): Uri? = null

    /** Not a data provider: deletes nothing. */
    override fun delete(uri: Uri, selection: String?, selectionArgs: Array<out String>?): Int = 0

    /** Not a data provider: updates nothing. */
    override fun update(uri: Uri, values: ContentValues?, selection: String?, selectionArgs: Array<out String>?): Int = 0
}
